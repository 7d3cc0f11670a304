#!/usr/bin/env node
// `npm run bench:fanout` (issue 16, publish/subscribe): S subscribers on one server, P = 4 publisher
// connections each keeping 4 messages in flight; the server sends every message a publisher sends
// to every subscriber, and to no publisher (publishers connect to /pub; the same rule for every
// server). One C generator (bench/fanout/fanout.c: single-threaded epoll, every delivery checked:
// length, payload, and the per-publisher sequence number for order and loss) drives each server in
// its own process; runs are taken round robin. Reports deliveries/s, server CPU µs per delivery,
// publish->delivery p50/p99, the generator's own CPU and the server's peak RSS; writes
// bench/results/fanout-latest.{json,md,svg}.
//   npm run bench:fanout [-- --subscribers 1000,10000 --sizes 64,4096 --modes plain,deflate
//                            --seconds 4 --warmup 1 --runs 3 --only ws,oursloop,ourspublish,...]
// --report-only rewrites the table and chart from bench/results/fanout-latest.json.
// --name N writes bench/results/N.{json,md,svg} instead (a partial run beside the full table).
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { buildWithZlib, denoBinary } from "../lib/tools.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const list = (n, d) => String(opt(n, d)).split(",").filter(Boolean);
const RUNS = Number(opt("runs", 3));
const SECONDS = Number(opt("seconds", 4));
const WARMUP = Number(opt("warmup", 1));
// Warm-up and window each stretch to at least one full round of the pipelines (fanout.c), but no
// further than this.
const MAX_SECONDS = Number(opt("max-seconds", 120));
const SUBSCRIBERS = list("subscribers", "1000,10000").map(Number);
const SIZES = list("sizes", "64,4096").map(Number);
const MODES = list("modes", "plain,deflate");
const only = opt("only")?.split(",");
const REPORT_ONLY = args.includes("--report-only");
const NAME = opt("name", "fanout-latest");
const PUBLISHERS = 4, INFLIGHT = 4;
// Subscribers connect from 127.0.0.2-5 (fanout.c FANOUT_SOURCES): the 4-tuples of a run's 10 000
// connections, and of the previous runs' sockets in TIME_WAIT, spread over four source addresses.
const SOURCES = Number(opt("sources", 4));

const root = new URL("../../", import.meta.url).pathname;
mkdirSync(`${root}build`, { recursive: true });
mkdirSync(`${root}bench/results`, { recursive: true });
const gen = `${root}build/fanout`;
let withZlib = true;
if (!REPORT_ONLY) {
  withZlib = buildWithZlib(`${root}bench/fanout/fanout.c`, gen, "skipping the deflate mode");
}
const deno = denoBinary(root);
const bun = `${root}node_modules/.bin/bun`;
const node = process.execPath;

// The topics API (server.publish/subscriberCount, ws.subscribe) in this build of wasmsocket/node;
// a reason to skip when it is missing.
async function topicsApiMissing() {
  try {
    const { WebSocketServer, WebSocket } = await import(`${root}dist/node.js`);
    const ok = typeof WebSocketServer?.prototype?.publish === "function" && typeof WebSocketServer.prototype.subscriberCount === "function" && typeof WebSocket?.prototype?.subscribe === "function";
    return ok ? undefined : "this build of wasmsocket/node has no server.publish/subscriberCount or ws.subscribe (issue 16 not merged yet)";
  } catch (e) {
    return `cannot load dist/node.js (npm run build): ${String(e.message).slice(0, 120)}`;
  }
}

const SERVERS = [
  { id: "ws", name: "ws + addons, loop over clients", cmd: [node, "bench/fanout/servers/loop.mjs", "--lib", "ws"] },
  { id: "oursloop", name: "wasmsocket (Node), loop over clients", cmd: [node, "bench/fanout/servers/loop.mjs", "--lib", "wasmsocket"] },
  { id: "ourspublish", name: "wasmsocket (Node), server.publish", cmd: [node, "bench/fanout/servers/publish.mjs"], check: topicsApiMissing },
  // Only where it changes anything: the subscribers' deflate without the server's context, so a
  // publish is compressed once for all of them (as Bun's default, a shared compressor, does).
  { id: "ourspublishnoctx", name: "wasmsocket (Node), server.publish, server_no_context_takeover", cmd: [node, "bench/fanout/servers/publish.mjs"], env: { FANOUT_NO_CONTEXT_TAKEOVER: "1" }, modes: ["deflate"], check: topicsApiMissing },
  // Floors, not contenders: the least a Node program can do for this workload, with no library
  // (node-floor.mjs): one socket.write per subscriber per turn, or straight to the libuv handle.
  { id: "nodefloor", name: "Node floor: no library, one socket.write per subscriber per turn", cmd: [node, "bench/fanout/servers/node-floor.mjs"], modes: ["plain"] },
  { id: "nodefloordirect", name: "Node floor: no library, straight to the libuv handle", cmd: [node, "bench/fanout/servers/node-floor.mjs"], env: { FLOOR_DIRECT: "1" }, modes: ["plain"] },
  { id: "bunnative", name: "Bun.serve native, server.publish (uWS)", cmd: [bun, "bench/fanout/servers/bun-native.mjs"] },
  { id: "ourspublishbun", name: "wasmsocket (Bun), server.publish", cmd: [bun, "bench/fanout/servers/publish.mjs"] },
  { id: "denonative", name: "Deno.serve native, loop over sockets", cmd: [deno, "run", "-A", "bench/fanout/servers/deno-native.mjs"] },
  { id: "ourspublishdeno", name: "wasmsocket (Deno), server.publish", cmd: [deno, "run", "-A", "bench/fanout/servers/publish.mjs"] },
].filter((s) => !only || only.includes(s.id));

const WORKLOADS = [];
for (const subscribers of SUBSCRIBERS)
  for (const size of SIZES)
    for (const mode of MODES) {
      if (mode === "deflate" && !withZlib) continue;
      WORKLOADS.push({ id: `${subscribers}/${size}/${mode}`, subscribers, size, mode, name: `${subscribers.toLocaleString("en")} subscribers, ${size < 1024 ? `${size} B` : `${size / 1024} KiB`} binary, ${mode === "deflate" ? "permessage-deflate" : "plain"}` });
    }

const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const rssKb = (pid, field) => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(field)))[1]);

async function startServer(s) {
  const port = await freePort();
  const p = spawn(s.cmd[0], [...s.cmd.slice(1), "--port", String(port)], { cwd: root, env: { ...process.env, ...s.env }, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  p.stderr.on("data", (d) => { err += d; process.stderr.write(d); });
  await new Promise((resolve, reject) => {
    p.stdout.on("data", (d) => String(d).includes("listening") && resolve());
    // Exit 4: the script found its API missing in this build (publish.mjs): skipped, with its reason.
    p.on("exit", (c) => reject(Object.assign(new Error(c === 4 ? err.trim() : `${s.name} exited ${c}: ${err.trim().slice(-200)}`), { unsupported: c === 4 })));
  });
  return { p, port };
}

function runGenerator(pid, port, w) {
  const a = ["127.0.0.1", port, w.subscribers, PUBLISHERS, INFLIGHT, w.size, w.mode, WARMUP, SECONDS, pid].map(String);
  const env = { ...process.env, FANOUT_SOURCES: String(SOURCES), FANOUT_MAX_SECONDS: String(MAX_SECONDS) };
  // Handshakes, the ping round and the stretched warm-up and window are inside the timeout.
  return JSON.parse(execFileSync(gen, a, { env, timeout: (2 * MAX_SECONDS + 180) * 1000, stdio: ["ignore", "pipe", "pipe"] }).toString());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let results, meta;
if (REPORT_ONLY) {
  ({ results, meta } = JSON.parse(readFileSync(`${root}bench/results/${NAME}.json`, "utf8")));
} else {
  results = [];
  const skipped = new Map();
  for (const s of SERVERS) {
    const why = await s.check?.();
    if (why) { skipped.set(s, why); console.log(`skipping ${s.name}: ${why}`); }
  }
  for (const w of WORKLOADS) {
    const servers = SERVERS.filter((x) => !skipped.has(x) && (!x.modes || x.modes.includes(w.mode)));
    const runsOf = new Map(servers.map((s) => [s, []]));
    // Round robin: run r of every server before run r + 1 of any, so a slow spell of this shared
    // machine lands on all contenders alike.
    for (let r = 0; r < RUNS; r++) {
      for (const s of servers) {
        const runs = runsOf.get(s);
        if (runs.some((x) => x.declined || x.unsupported)) continue; // once is enough
        let srv;
        try {
          srv = await startServer(s);
          const res = runGenerator(srv.p.pid, srv.port, w);
          runs.push({ ...res, cpuUsPerDelivery: (res.serverCpuSeconds / res.deliveries) * 1e6, peakRssMb: rssKb(srv.p.pid, "VmHWM") / 1024 });
        } catch (e) {
          const declined = e.status === 3;
          const error = declined ? "declines permessage-deflate" : e.unsupported ? `skipped: ${e.message}` : String(e.stderr?.toString().trim() || e.message).slice(0, 300);
          runs.push({ error, declined, unsupported: e.unsupported });
          console.log(`  ${w.id} ${s.id} run ${r + 1}: ${error}`);
        } finally {
          srv?.p.kill();
          if (srv) await new Promise((res) => (srv.p.exitCode !== null || srv.p.signalCode !== null ? res() : srv.p.once("exit", res)));
        }
      }
    }
    for (const s of servers) {
      const runs = runsOf.get(s);
      const ok = runs.filter((x) => !x.error);
      const med = (f) => (ok.length ? median(ok.map(f)) : 0);
      const span = (f) => (ok.length ? [Math.min(...ok.map(f)), Math.max(...ok.map(f))] : [0, 0]);
      const row = {
        workload: w.id, server: s.name, serverId: s.id, runs,
        deliveriesPerSec: med((x) => x.deliveriesPerSec), spread: span((x) => x.deliveriesPerSec),
        mbPerSec: med((x) => x.mbPerSec),
        cpuUsPerDelivery: med((x) => x.cpuUsPerDelivery), cpuSpread: span((x) => x.cpuUsPerDelivery),
        p50us: med((x) => x.p50us), p99us: med((x) => x.p99us),
        loadgenCpuShare: med((x) => x.loadgenCpuSeconds / x.seconds),
        serverCpuShare: med((x) => x.serverCpuSeconds / x.seconds),
        windowSeconds: med((x) => x.seconds),
        compressedShare: med((x) => x.compressedShare),
        peakRssMb: med((x) => x.peakRssMb),
        handshakeSeconds: med((x) => x.handshakeSeconds),
        deliveriesPerRead: med((x) => x.deliveriesPerRead),
        negotiated: ok[0]?.negotiated,
        okRuns: ok.length,
        error: ok.length ? undefined : runs[0]?.error,
      };
      results.push(row);
      console.log(`${w.id.padEnd(18)} ${s.id.padEnd(16)} ${row.error ? (row.error.startsWith("skipped") ? row.error : "ERROR " + row.error) : `${(row.deliveriesPerSec / 1e3).toFixed(1).padStart(8)} k deliveries/s (${(row.spread[0] / 1e3).toFixed(1)}–${(row.spread[1] / 1e3).toFixed(1)})  ${row.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery  p50 ${(row.p50us / 1e3).toFixed(1)} ms  p99 ${(row.p99us / 1e3).toFixed(1)} ms  generator ${(row.loadgenCpuShare * 100).toFixed(0)} %  RSS ${row.peakRssMb.toFixed(0)} MB${w.mode === "deflate" ? `  compressed ${(row.compressedShare * 100).toFixed(0)} %` : ""}`}`);
    }
  }
  meta = {
    roundRobin: true, date: new Date().toISOString(), machine: `${os.cpus()[0].model} × ${os.cpus().length}`,
    node: process.version, deno: execFileSync(deno, ["--version"]).toString().split("\n")[0], bun: execFileSync(bun, ["--version"]).toString().trim(),
    ws: JSON.parse(readFileSync(`${root}node_modules/ws/package.json`, "utf8")).version,
    commit: (() => { try { return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim(); } catch { return undefined; } })(),
    runs: RUNS, seconds: SECONDS, warmup: WARMUP, maxSeconds: MAX_SECONDS, publishers: PUBLISHERS, inflight: INFLIGHT,
    skipped: Object.fromEntries([...skipped].map(([s, why]) => [s.name, why])),
  };
  writeFileSync(`${root}bench/results/${NAME}.json`, JSON.stringify({ meta, results }, null, 2));
}

// Markdown: one row per workload and server; ratios to ws (loop over clients) taken within a round.
const workloadsIn = [...new Set(results.map((r) => r.workload))];
const nameOf = (id) => {
  const [s, size, mode] = id.split("/");
  return `${Number(s).toLocaleString("en")} subs, ${Number(size) < 1024 ? `${size} B` : `${Number(size) / 1024} KiB`}, ${mode === "deflate" ? "deflate" : "plain"}`;
};
const fmtRate = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)} k` : `${(x / 1e3).toFixed(2)} k`);
const fmtUs = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtMs = (us) => { const ms = us / 1e3; return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2); };
const paired = (r, anchor, f) => {
  if (!anchor || r.error || anchor.error) return undefined;
  const xs = r.runs.map((x, i) => (x.error || !anchor.runs[i] || anchor.runs[i].error ? NaN : f(x) / f(anchor.runs[i]))).filter((x) => x === x);
  return xs.length ? { mid: median(xs), lo: Math.min(...xs), hi: Math.max(...xs) } : undefined;
};
const ratioFmt = (q) => (!q ? "–" : `${q.mid.toFixed(2)} (${q.lo.toFixed(2)}–${q.hi.toFixed(2)})`);
const skippedNote = Object.entries(meta.skipped ?? {}).map(([n, why]) => ` Skipped: ${n} (${why}).`).join("");
let md = `Fan-out, ${meta.date.slice(0, 10)}${meta.commit ? `, commit ${meta.commit}` : ""}, ${meta.machine}, Node ${meta.node}, ${meta.deno}, Bun ${meta.bun}, ws ${meta.ws}; ${meta.publishers} publishers × ${meta.inflight} messages in flight (in flight until every subscriber has it), publishers excluded from delivery; median of ${meta.runs} runs taken round robin, each a ${meta.warmup} s warm-up then a ${meta.seconds} s window, both stretched to at least one full round of the pipelines (max ${meta.maxSeconds} s); spread: min–max; ratios to ws taken within a round (median, min–max).${skippedNote}\n\n`;
md += `| workload | server | deliveries/s (spread) | MB/s | server CPU µs/delivery (spread) | server CPU | p50 / p99 ms | generator CPU | deliveries per read | peak RSS MB | deliveries/s × ws | CPU/delivery × ws |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n`;
for (const id of workloadsIn) {
  const rows = results.filter((r) => r.workload === id);
  const anchor = rows.find((r) => r.serverId === "ws");
  for (const r of rows) {
    const deflate = id.endsWith("deflate");
    const notes = [];
    if (deflate && !r.error) notes.push(`compressed ${(r.compressedShare * 100).toFixed(0)} %${r.negotiated?.includes("server_no_context_takeover") ? ", no context takeover" : ", context takeover"}`);
    if (!r.error && r.okRuns < r.runs.length) notes.push(`${r.runs.length - r.okRuns} of ${r.runs.length} runs failed: ${r.runs.find((x) => x.error).error}`);
    if (!r.error && r.windowSeconds > meta.seconds * 1.5) notes.push(`window ${r.windowSeconds.toFixed(0)} s`);
    const label = `${r.server}${notes.length ? ` (${notes.join("; ")})` : ""}`;
    if (r.error) { md += `| ${nameOf(id)} | ${label} | ${r.error} | | | | | | | | | |\n`; continue; }
    md += `| ${nameOf(id)} | ${label} | ${fmtRate(r.deliveriesPerSec)} (${fmtRate(r.spread[0])}–${fmtRate(r.spread[1])}) | ${r.mbPerSec.toFixed(0)} | ${fmtUs(r.cpuUsPerDelivery)} (${fmtUs(r.cpuSpread[0])}–${fmtUs(r.cpuSpread[1])}) | ${(r.serverCpuShare * 100).toFixed(0)} % | ${fmtMs(r.p50us)} / ${fmtMs(r.p99us)} | ${(r.loadgenCpuShare * 100).toFixed(0)} % | ${r.deliveriesPerRead?.toFixed(1) ?? "–"} | ${r.peakRssMb.toFixed(0)} | ${ratioFmt(paired(r, anchor, (x) => x.deliveriesPerSec))} | ${ratioFmt(paired(r, anchor, (x) => x.cpuUsPerDelivery))} |\n`;
  }
}
writeFileSync(`${root}bench/results/${NAME}.md`, md);

// SVG: one panel per workload, a bar per server, scaled to the fastest in that workload.
const W = 900, rowH = 18, pad = 410;
let y = 30, svg = "";
for (const id of workloadsIn) {
  const rows = results.filter((r) => r.workload === id);
  const max = Math.max(...rows.map((r) => r.deliveriesPerSec), 1);
  svg += `<text x="10" y="${y}" font-weight="bold">${nameOf(id)} — deliveries/s</text>`;
  y += 8;
  for (const r of rows) {
    const len = ((W - pad - 90) * r.deliveriesPerSec) / max;
    const ours = r.server.startsWith("wasmsocket");
    svg += `<text x="10" y="${y + 13}">${r.server}</text><rect x="${pad}" y="${y + 2}" width="${len.toFixed(1)}" height="${rowH - 5}" fill="${ours ? "#2a7ae2" : "#9aa5b1"}"/><text x="${(pad + len + 5).toFixed(1)}" y="${y + 13}">${r.error ? r.error.replace(/[<&]/g, " ").slice(0, 40) : fmtRate(r.deliveriesPerSec)}</text>`;
    y += rowH;
  }
  y += 22;
}
writeFileSync(`${root}bench/results/${NAME}.svg`, `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="10" y="16" fill="#555">${meta.machine}, ${meta.date.slice(0, 10)}, median of ${meta.runs}; ${meta.publishers} publishers × ${meta.inflight} in flight</text>${svg}</svg>\n`);
console.log(`\nwritten: bench/results/${NAME}.{json,md,svg}`);
