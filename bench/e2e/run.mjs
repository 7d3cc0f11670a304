#!/usr/bin/env node
// `npm run bench:e2e`: echo servers in their own processes on 127.0.0.1, driven by one C load
// generator (bench/e2e/loadgen.c: epoll, pipelined, every echo verified), several runs each.
// Reports msgs/s, MB/s, p50/p99 RTT, server CPU per message and peak RSS, and idle memory per
// connection; writes bench/results/e2e-latest.{json,md,svg}.
//   npm run bench:e2e [-- --runs 3 --seconds 4 --only node,ws --workloads 32B,4KiB,1MiB,4KiBz --out e2e-latest]
// --out NAME writes bench/results/NAME.{json,md,svg} instead (a partial run beside the full table).
// Then bench/e2e/http2.mjs (our server over HTTP/1.1 vs HTTP/2), unless --no-http2, or --only
// leaves out "http2".
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { buildWithZlib, denoBinary } from "../lib/tools.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const RUNS = Number(opt("runs", 3));
// --report-only: rewrite the table and chart from bench/results/e2e-latest.json, measuring nothing.
const REPORT_ONLY = args.includes("--report-only");
const OUT = opt("out", "e2e-latest");
// --anchor PREFIX: the ratio columns are to the server whose name starts with PREFIX (default ws + addons).
const ANCHOR = opt("anchor", "ws + addons");
const anchorLabel = ANCHOR === "ws + addons" ? "ws+addons" : ANCHOR;
const SECONDS = Number(opt("seconds", 4));
const only = opt("only")?.split(",");
const onlyWorkloads = opt("workloads")?.split(",");
const root = new URL("../../", import.meta.url).pathname;
mkdirSync(`${root}build`, { recursive: true });
mkdirSync(`${root}bench/results`, { recursive: true });
const loadgen = `${root}build/loadgen`;
// With zlib (libz and its header) the generator also runs the compressed-text workload.
const withZlib = buildWithZlib(`${root}bench/e2e/loadgen.c`, loadgen, "skipping the permessage-deflate workload");
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;
const deno = denoBinary(root);
const bun = `${root}node_modules/.bin/bun`;
const node = process.execPath;

const SERVERS = [
  { id: "node", name: "wasmsocket (Node)", cmd: [node, "examples/echo-server.mjs"] },
  { id: "deno", name: "wasmsocket (Deno)", cmd: [deno, "run", "-A", "examples/echo-server.mjs"] },
  { id: "bun", name: "wasmsocket (Bun)", cmd: [bun, "examples/echo-server.mjs"] },
  { id: "ws", name: "ws + addons (Node)", cmd: [node, "bench/e2e/ws-echo.mjs"] },
  { id: "wslevel1", name: "ws + addons, deflate level 1", cmd: [node, "bench/e2e/ws-echo.mjs"], env: { WS_DEFLATE_LEVEL: "1" }, workloads: ["4KiBz"] },
  { id: "wsjs", name: "ws pure JS (Node)", cmd: [node, "bench/e2e/ws-echo.mjs"], env: { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" } },
  { id: "denonative", name: "Deno.serve native", cmd: [deno, "run", "-A", "bench/e2e/deno-native.mjs"] },
  { id: "bunnative", name: "Bun.serve native (uWS)", cmd: [bun, "bench/e2e/bun-native.mjs"] },
  // Node's floors for a WebSocket echo, no library (bench/e2e/node-floor.mjs): frames only, and
  // with the ws API's per-message Buffer, 'message' event and send() on top. 32 B only: their
  // byte-at-a-time unmasking is no floor for large messages (measured: 4-7x our CPU at 4 KiB and 1 MiB).
  { id: "floornode", name: "Node floor: frames only, no library", cmd: [node, "bench/e2e/node-floor.mjs"], workloads: ["32B"] },
  { id: "floorapi", name: "Node floor: ws API, no library", cmd: [node, "bench/e2e/node-floor.mjs", "--api"], workloads: ["32B"] },
  { id: "tcpnode", name: "raw TCP echo (Node)", cmd: [node, "bench/e2e/tcp-echo.mjs"] },
  { id: "tcpbun", name: "raw TCP echo (Bun)", cmd: [bun, "bench/e2e/tcp-echo.mjs"] },
  { id: "tcpbunlisten", name: "raw Bun.listen echo (Bun)", cmd: [bun, "bench/e2e/bun-listen-echo.mjs"] },
  { id: "tcpdeno", name: "raw TCP echo (Deno)", cmd: [deno, "run", "-A", "bench/e2e/tcp-echo.mjs"] },
].filter((s) => !only || only.includes(s.id));

const WORKLOADS = [
  { id: "32B", name: "32 B text, 50 conns × 16 in flight", args: [50, 16, 32, "text"] },
  { id: "4KiB", name: "4 KiB binary, 10 × 8", args: [10, 8, 4096, "binary"] },
  { id: "1MiB", name: "1 MiB binary, 2 × 2", args: [2, 2, 1 << 20, "binary"] },
  // JSON text with permessage-deflate at every server's defaults (context takeover, as browsers ask).
  ...(withZlib ? [{ id: "4KiBz", name: "4 KiB JSON text, permessage-deflate, 10 × 8", args: [10, 8, 4096, "json-deflate"] }] : []),
].filter((w) => !onlyWorkloads || onlyWorkloads.includes(w.id));

const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const rssKb = (pid, field) => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(field)))[1]);

async function startServer(s) {
  const port = await freePort();
  const p = spawn(s.cmd[0], [...s.cmd.slice(1), "--port", String(port)], { cwd: root, env: { ...process.env, ...s.env }, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    p.stdout.on("data", (d) => String(d).includes("listening") && resolve());
    p.on("exit", (c) => reject(new Error(`${s.name} exited ${c}`)));
  });
  return { p, port };
}

function runLoadgen(port, wargs, seconds) {
  return JSON.parse(execFileSync(loadgen, ["127.0.0.1", String(port), ...wargs.map(String), String(seconds)], { timeout: (seconds + 30) * 1000 }).toString());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let results, idle, meta;
if (REPORT_ONLY) {
  ({ results, idle, meta } = JSON.parse(readFileSync(`${root}bench/results/${OUT}.json`, "utf8")));
} else {
  results = [];
  for (const w of WORKLOADS) {
    const servers = SERVERS.filter((x) => !x.workloads || x.workloads.includes(w.id));
    const runsOf = new Map(servers.map((s) => [s, []]));
    // Round robin: run r of every server before run r + 1 of any, so a slow spell of this shared
    // machine lands on all contenders alike instead of on whichever ran during it.
    for (let r = 0; r < RUNS; r++) {
      for (const s of servers) {
        const runs = runsOf.get(s);
        const { p, port } = await startServer(s);
        try {
          runLoadgen(port, w.args, 1); // warm up the JIT
          const c0 = cpuTicks(p.pid);
          const res = runLoadgen(port, w.args, SECONDS);
          const cpu = (cpuTicks(p.pid) - c0) / CLK_TCK;
          runs.push({ ...res, serverCpuSeconds: cpu, cpuUsPerMsg: (cpu / res.messages) * 1e6, peakRssMb: rssKb(p.pid, "VmHWM") / 1024 });
        } catch (e) {
          runs.push({ error: e.status === 3 ? "declines permessage-deflate" : String(e.message).slice(0, 200) });
        } finally {
          p.kill();
        }
      }
    }
    for (const s of servers) {
      const runs = runsOf.get(s);
      const ok = runs.filter((x) => !x.error);
      const row = {
        workload: w.id, server: s.name, runs,
        msgsPerSec: ok.length ? median(ok.map((x) => x.msgsPerSec)) : 0,
        spread: ok.length ? [Math.min(...ok.map((x) => x.msgsPerSec)), Math.max(...ok.map((x) => x.msgsPerSec))] : [0, 0],
        mbPerSec: ok.length ? median(ok.map((x) => x.mbPerSec)) : 0,
        p50us: ok.length ? median(ok.map((x) => x.p50us)) : 0,
        p99us: ok.length ? median(ok.map((x) => x.p99us)) : 0,
        cpuUsPerMsg: ok.length ? median(ok.map((x) => x.cpuUsPerMsg)) : 0,
        peakRssMb: ok.length ? median(ok.map((x) => x.peakRssMb)) : 0,
        loadgenCpuShare: ok.length ? median(ok.map((x) => x.loadgenCpuSeconds / x.seconds)) : 0,
        compressedShare: ok.length ? median(ok.map((x) => x.compressedShare ?? 0)) : 0,
        error: ok.length ? undefined : runs[0].error,
      };
      results.push(row);
      console.log(`${w.id.padEnd(5)} ${s.name.padEnd(24)} ${(row.msgsPerSec / 1e3).toFixed(1).padStart(8)} k msg/s  ${row.mbPerSec.toFixed(0).padStart(6)} MB/s  p50 ${row.p50us.toFixed(0)} µs  p99 ${row.p99us.toFixed(0)} µs  ${row.cpuUsPerMsg.toFixed(2)} µs CPU/msg  RSS ${row.peakRssMb.toFixed(0)} MB${w.id === "4KiBz" ? `  echoes compressed ${(row.compressedShare * 100).toFixed(0)} %` : ""}${row.error ? "  ERROR " + row.error : ""}`);
    }
  }

  // Idle memory: 1 000 open connections, RSS growth per connection, 12 s later and after a full GC where the
  // runtime lets us ask for one (Node and Deno with V8's --expose-gc, Bun with Bun.gc).
  idle = [];
  const withGc = (s) => {
    const [exe, ...rest] = s.cmd;
    if (exe === node) return { ...s, cmd: [exe, "--expose-gc", "--import", "./bench/e2e/gc-on-signal.mjs", ...rest], gc: true };
    if (exe === bun) return { ...s, cmd: [exe, "--preload", "./bench/e2e/gc-on-signal.mjs", ...rest], gc: true };
    if (exe === deno) return { ...s, cmd: [exe, rest[0], "--v8-flags=--expose-gc", "--preload", "./bench/e2e/gc-on-signal.mjs", ...rest.slice(1)], gc: true };
    return s;
  };
  const settledRss = async (s, p) => {
    if (s.gc) p.kill("SIGUSR2");
    await new Promise((r) => setTimeout(r, 500));
    return { rss: rssKb(p.pid, "VmRSS"), anon: rssKb(p.pid, "RssAnon") };
  };
  for (const s of SERVERS.filter((x) => ["node", "ws", "deno", "bun", "bunnative", "denonative"].includes(x.id)).map(withGc)) {
    const { p, port } = await startServer(s);
    // Warm-up: 1 000 connections opened and dropped before the baseline, so that what a process
    // pays once (the JIT compiling the handshake and frame paths, the WASM core, pools) is not
    // counted per connection: a cold Bun server counted ~13 MB of it, 12.1 KB per connection of
    // 1 000 (bench/conns/bun-heap.mjs: 16.7 KB/conn cold, 3.6 warm; Bun.serve 6.5 cold, 1.6 warm).
    // As long a wait as after the connections below: V8 gives back what the burst grew only then.
    runLoadgen(port, [1000, 0, 32, "text"], 0);
    await new Promise((r) => setTimeout(r, 12_000));
    const before = await settledRss(s, p);
    const hold = spawn(loadgen, ["127.0.0.1", String(port), "1000", "0", "32", "text", "16"], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((r) => hold.stdout.once("data", r));
    // V8 gives back heap pages grown during the burst of handshakes only after a while (seen here:
    // RSS settles ~10 s later), and what stays is what the idle connections hold.
    await new Promise((r) => setTimeout(r, 12_000));
    const after = await settledRss(s, p);
    hold.kill();
    p.kill();
    // Anonymous RSS leaves out file pages: the runtime binary's code faulted in on first use (V8's
    // optimizing compiler, ~4 MB on Node) is one-off and shared, yet at 1 000 connections it is 4 KB each.
    const kb = (after.rss - before.rss) / 1000, anonKb = (after.anon - before.anon) / 1000;
    idle.push({ server: s.name, kbPerConnection: kb, anonKbPerConnection: anonKb });
    console.log(`idle  ${s.name.padEnd(24)} ${kb.toFixed(1)} KB RSS per idle connection (anonymous ${anonKb.toFixed(1)})`);
  }

  meta = { roundRobin: true, date: new Date().toISOString(), machine: `${os.cpus()[0].model} × ${os.cpus().length}`, node: process.version, deno: execFileSync(deno, ["--version"]).toString().split("\n")[0], bun: execFileSync(bun, ["--version"]).toString().trim(), runs: RUNS, seconds: SECONDS };
  writeFileSync(`${root}bench/results/${OUT}.json`, JSON.stringify({ meta, results, idle }, null, 2));
}

// Markdown table, ratios to ws + addons per workload. With round-robin runs each ratio is taken
// within a round (run r of ours against run r of ws, minutes apart at most) and the median of those
// is shown with its spread; older results fall back to the ratio of the medians.
const kFmt = (x) => (x / 1e3).toFixed(x < 1e4 ? 2 : 0);
const paired = (r, anchor, f) => {
  if (!anchor || r.error || anchor.error) return undefined;
  if (!meta.roundRobin) return { mid: f(r) / f(anchor) };
  const xs = r.runs.map((x, i) => (x.error || anchor.runs[i]?.error ? NaN : f(x) / f(anchor.runs[i]))).filter((x) => x === x);
  return xs.length ? { mid: median(xs), lo: Math.min(...xs), hi: Math.max(...xs) } : undefined;
};
const ratioFmt = (q) => (!q ? "–" : q.lo === undefined ? q.mid.toFixed(2) : `${q.mid.toFixed(2)} (${q.lo.toFixed(2)}–${q.hi.toFixed(2)})`);
let md = `End to end, ${meta.date.slice(0, 10)}, ${meta.machine}, Node ${meta.node}, ${meta.deno}, Bun ${meta.bun}; median of ${meta.runs} runs of ${meta.seconds} s (spread: min–max)${meta.roundRobin ? "; runs taken round robin, ratios to " + anchorLabel + " per round (median, min–max)" : ""}.${meta.note ? " " + meta.note : ""}\n\n| workload | server | msgs/s (spread) | MB/s | p50 / p99 µs | server CPU µs/msg | peak RSS MB | generator CPU | msgs/s × ${anchorLabel} | CPU/msg × ${anchorLabel} |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n`;
for (const w of WORKLOADS) {
  const anchor = results.find((r) => r.workload === w.id && r.server.startsWith(ANCHOR));
  for (const r of results.filter((x) => x.workload === w.id)) {
    const note = r.error ? ` (${r.error})` : w.id === "4KiBz" ? ` (echoes compressed: ${(r.compressedShare * 100).toFixed(0)} %)` : "";
    const speed = paired(r, anchor, (x) => x.msgsPerSec);
    const cpu = paired(r, anchor, (x) => x.cpuUsPerMsg);
    md += `| ${w.name} | ${r.server}${note} | ${(r.msgsPerSec / 1e3).toFixed(r.msgsPerSec < 1e4 ? 2 : 1)} k (${kFmt(r.spread[0])}–${kFmt(r.spread[1])}) | ${r.mbPerSec.toFixed(0)} | ${r.p50us.toFixed(0)} / ${r.p99us.toFixed(0)} | ${r.cpuUsPerMsg.toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${(r.loadgenCpuShare * 100).toFixed(0)} % | ${ratioFmt(speed)} | ${ratioFmt(cpu)} |\n`;
  }
}
md += `\nIdle: RSS growth of the server per connection with 1 000 idle connections open, read 12 s after the handshakes and after a full GC (Node and Deno with V8's --expose-gc, Bun.gc), over a baseline taken after 1 000 connections were opened and dropped (warm-up).\n`;
md += `Anonymous RSS (RssAnon) leaves out the pages of mapped files, such as the runtime binary's code faulted in once per process.\n`;
md += `\n| idle connections (1 000) | KB RSS per connection | KB anonymous RSS per connection |\n| --- | --- | --- |\n` + idle.map((i) => `| ${i.server} | ${i.kbPerConnection.toFixed(1)} | ${i.anonKbPerConnection?.toFixed(1) ?? "–"} |`).join("\n") + "\n";
writeFileSync(`${root}bench/results/${OUT}.md`, md);

// SVG: one panel per workload, a bar per server, scaled to the fastest in that workload.
const W = 760, rowH = 18, pad = 190;
let y = 30;
let svg = "";
for (const w of WORKLOADS) {
  const rows = results.filter((r) => r.workload === w.id);
  const max = Math.max(...rows.map((r) => r.msgsPerSec), 1);
  svg += `<text x="10" y="${y}" font-weight="bold">${w.name} — messages/s</text>`;
  y += 8;
  for (const r of rows) {
    const len = ((W - pad - 90) * r.msgsPerSec) / max;
    const ours = r.server.startsWith("wasmsocket");
    svg += `<text x="10" y="${y + 13}">${r.server}</text><rect x="${pad}" y="${y + 2}" width="${len.toFixed(1)}" height="${rowH - 5}" fill="${ours ? "#2a7ae2" : "#9aa5b1"}"/><text x="${(pad + len + 5).toFixed(1)}" y="${y + 13}">${r.error ? r.error : `${(r.msgsPerSec / 1e3).toFixed(r.msgsPerSec < 1e4 ? 2 : 0)} k`}</text>`;
    y += rowH;
  }
  y += 22;
}
writeFileSync(`${root}bench/results/${OUT}.svg`, `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="10" y="16" fill="#555">${meta.machine}, ${meta.date.slice(0, 10)}, median of ${meta.runs}</text>${svg}</svg>\n`);
console.log(`\nwritten: bench/results/${OUT}.{json,md,svg}`);

if (!REPORT_ONLY && !args.includes("--no-http2") && (!only || only.includes("http2"))) {
  console.log("\nHTTP/1.1 vs HTTP/2 (bench/e2e/http2.mjs):");
  execFileSync(node, ["bench/e2e/http2.mjs", "--runs", String(RUNS), "--seconds", String(SECONDS)], { cwd: root, stdio: "inherit" });
}
