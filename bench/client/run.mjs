#!/usr/bin/env node
// `npm run bench:client`: WebSocket clients as load generators against one fixed fast server, the
// Bun.serve echo (bench/e2e/bun-native.mjs, uWebSockets, permessage-deflate declined), on this
// machine. Each client runs in its own process (bench/client/client.mjs): one connection, N messages
// in flight, a warm-up, then a fixed window. Reports msgs/s, the client's CPU per message (the
// figure that matters: a load generator must not be the bottleneck) and the server's over the same
// window. Contenders run round robin, several rounds; medians, spreads (min–max) and ratios to ws's
// client taken within each round. Writes bench/results/client-latest.{json,md}.
//   npm run bench:client [-- --runs 3 --seconds 4 --only node,ws --workloads 32B,4KiB,1MiB]
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { denoBinary } from "../lib/tools.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const RUNS = Number(opt("runs", 3));
const SECONDS = Number(opt("seconds", 4));
const REPORT_ONLY = args.includes("--report-only");
const only = opt("only")?.split(",");
const onlyWorkloads = opt("workloads")?.split(",");
const root = new URL("../../", import.meta.url).pathname;
mkdirSync(`${root}build`, { recursive: true });
mkdirSync(`${root}bench/results`, { recursive: true });
if (Number(execFileSync("getconf", ["CLK_TCK"]).toString()) !== 100) throw new Error("client.mjs assumes CLK_TCK = 100");
const deno = denoBinary(root);
const bun = `${root}node_modules/.bin/bun`;
const node = process.execPath;
const loadgen = `${root}build/loadgen`;
execFileSync("cc", ["-O2", "-o", loadgen, `${root}bench/e2e/loadgen.c`]);

const client = "bench/client/client.mjs";
const NO_ADDONS = { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" };
const CLIENTS = [
  { id: "node", name: "wasmsocket/node WebSocket (Node)", cmd: [node, client, "--impl", "wasmsocket-node"] },
  { id: "whatwg", name: "wasmsocket WebSocketClient (Node)", cmd: [node, client, "--impl", "wasmsocket-whatwg"] },
  { id: "deno", name: "wasmsocket/deno connect (Deno)", cmd: [deno, "run", "-A", client, "--impl", "wasmsocket-deno"] },
  { id: "bun", name: "wasmsocket/bun connect (Bun)", cmd: [bun, client, "--impl", "wasmsocket-bun"] },
  { id: "ws", name: "ws + addons (Node)", cmd: [node, client, "--impl", "ws"] },
  { id: "wsjs", name: "ws pure JS (Node)", cmd: [node, client, "--impl", "ws"], env: NO_ADDONS },
  { id: "undici", name: "undici WebSocket (Node global)", cmd: [node, "--experimental-websocket", "--no-warnings", client, "--impl", "global"] },
  { id: "bunnative", name: "Bun's WebSocket (native)", cmd: [bun, client, "--impl", "global"] },
  { id: "denonative", name: "Deno's WebSocket (native)", cmd: [deno, "run", "-A", client, "--impl", "global"] },
  { id: "tcp", name: "raw TCP, pre-masked frames (Node net)", cmd: [node, client, "--impl", "tcp"], floor: true },
  { id: "c", name: "C epoll, pre-masked frames (loadgen.c)", loadgen: true, floor: true },
].filter((c) => !only || only.includes(c.id));

const WORKLOADS = [
  { id: "32B", name: "32 B text, 64 in flight", size: 32, type: "text", inflight: 64 },
  { id: "4KiB", name: "4 KiB binary, 16 in flight", size: 4096, type: "binary", inflight: 16 },
  { id: "1MiB", name: "1 MiB binary, 2 in flight", size: 1 << 20, type: "binary", inflight: 2 },
].filter((w) => !onlyWorkloads || onlyWorkloads.includes(w.id));

const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };

async function startServer() {
  const port = await freePort();
  const p = spawn(bun, ["bench/e2e/bun-native.mjs", "--port", String(port)], { cwd: root, env: { ...process.env, NO_DEFLATE: "1" }, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    p.stdout.on("data", (d) => String(d).includes("listening") && resolve());
    p.on("exit", (c) => reject(new Error(`server exited ${c}`)));
  });
  return { p, port };
}

function runClient(c, w, port, serverPid) {
  if (c.loadgen) {
    execFileSync(loadgen, ["127.0.0.1", String(port), "1", String(w.inflight), String(w.size), w.type, "1"]); // warm-up
    const s0 = ticks(serverPid);
    const r = JSON.parse(execFileSync(loadgen, ["127.0.0.1", String(port), "1", String(w.inflight), String(w.size), w.type, String(SECONDS)], { timeout: (SECONDS + 30) * 1000 }).toString());
    const server = (ticks(serverPid) - s0) / 100;
    return { messages: r.messages, seconds: r.seconds, msgsPerSec: r.msgsPerSec, clientCpuSeconds: r.loadgenCpuSeconds, clientCpuUsPerMsg: (r.loadgenCpuSeconds / r.messages) * 1e6, serverCpuUsPerMsg: (server / r.messages) * 1e6 };
  }
  const [exe, ...rest] = c.cmd;
  const out = execFileSync(exe, [...rest, "--port", String(port), "--size", String(w.size), "--type", w.type, "--inflight", String(w.inflight), "--seconds", String(SECONDS), "--server-pid", String(serverPid)], {
    cwd: root, env: { ...process.env, ...c.env }, timeout: (SECONDS + 30) * 1000, stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.toString().trim().split("\n").pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let results, meta;
if (REPORT_ONLY) {
  ({ results, meta } = JSON.parse(readFileSync(`${root}bench/results/client-latest.json`, "utf8")));
} else {
  results = [];
  for (const w of WORKLOADS) {
    const { p, port } = await startServer();
    const runsOf = new Map(CLIENTS.map((c) => [c, []]));
    try {
      // Round robin: run r of every client before run r + 1 of any (a slow spell of this shared
      // machine then lands on all contenders alike).
      for (let r = 0; r < RUNS; r++) {
        for (const c of CLIENTS) {
          try {
            runsOf.get(c).push(runClient(c, w, port, p.pid));
          } catch (e) {
            runsOf.get(c).push({ error: String(e.stderr ?? e.message).trim().split("\n").pop().slice(0, 200) });
          }
        }
      }
    } finally {
      p.kill();
    }
    for (const c of CLIENTS) {
      const runs = runsOf.get(c);
      const ok = runs.filter((x) => !x.error);
      const med = (f) => (ok.length ? median(ok.map(f)) : 0);
      const row = {
        workload: w.id, client: c.name, id: c.id, floor: !!c.floor, runs,
        msgsPerSec: med((x) => x.msgsPerSec),
        spread: ok.length ? [Math.min(...ok.map((x) => x.msgsPerSec)), Math.max(...ok.map((x) => x.msgsPerSec))] : [0, 0],
        clientCpuUsPerMsg: med((x) => x.clientCpuUsPerMsg),
        cpuSpread: ok.length ? [Math.min(...ok.map((x) => x.clientCpuUsPerMsg)), Math.max(...ok.map((x) => x.clientCpuUsPerMsg))] : [0, 0],
        clientCpuShare: med((x) => x.clientCpuSeconds / x.seconds),
        serverCpuUsPerMsg: med((x) => x.serverCpuUsPerMsg),
        peakRssMb: med((x) => x.peakRssMb ?? 0),
        msgsPerWrite: med((x) => x.msgsPerWrite ?? 0),
        extensions: ok[0]?.extensions ?? "",
        error: ok.length ? undefined : runs[0].error,
      };
      results.push(row);
      console.log(`${w.id.padEnd(5)} ${c.name.padEnd(40)} ${(row.msgsPerSec / 1e3).toFixed(1).padStart(8)} k msg/s  client ${row.clientCpuUsPerMsg.toFixed(2)} µs CPU/msg (${(row.clientCpuShare * 100).toFixed(0)} % of a core)  server ${row.serverCpuUsPerMsg.toFixed(2)} µs/msg${row.error ? "  ERROR " + row.error : ""}`);
    }
  }
  const ver = (cmd) => { try { return execFileSync(cmd[0], cmd.slice(1)).toString().split("\n")[0].trim(); } catch { return "?"; } };
  let commit = "?";
  try { commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim(); } catch {}
  meta = { date: new Date().toISOString(), commit, machine: `${os.cpus()[0].model} × ${os.cpus().length}`, node: process.version, deno: ver([deno, "--version"]), bun: ver([bun, "--version"]), ws: JSON.parse(readFileSync(`${root}node_modules/ws/package.json`, "utf8")).version, runs: RUNS, seconds: SECONDS };
  writeFileSync(`${root}bench/results/client-latest.json`, JSON.stringify({ meta, results }, null, 2));
}

// Ratios to ws + addons, taken within each round (run r against run r of ws), median and min–max.
const paired = (r, anchor, f) => {
  if (!anchor || r.error || anchor.error) return undefined;
  const xs = r.runs.map((x, i) => (x.error || anchor.runs[i]?.error ? NaN : f(x) / f(anchor.runs[i]))).filter((x) => x === x);
  return xs.length ? { mid: median(xs), lo: Math.min(...xs), hi: Math.max(...xs) } : undefined;
};
// Deno and Bun write with send/sendmsg, which /proc/self/io does not count: writes are shown for Node only.
const ON_NODE = new Set(["node", "whatwg", "ws", "wsjs", "undici", "tcp"]);
const ratioFmt = (q) => (!q ? "–" : `${q.mid.toFixed(2)} (${q.lo.toFixed(2)}–${q.hi.toFixed(2)})`);
const kFmt = (x) => (x / 1e3).toFixed(x < 1e4 ? 2 : 0);
let md = `Clients against one Bun.serve echo (bench/e2e/bun-native.mjs, permessage-deflate declined), ${meta.date.slice(0, 10)}, commit ${meta.commit}, ${meta.machine}, Node ${meta.node}, ${meta.deno}, Bun ${meta.bun}, ws ${meta.ws}; one connection per client process; median of ${meta.runs} runs of ${meta.seconds} s after 1 s of warm-up, taken round robin (spread: min–max); ratios to ws + addons within each round.\n\n`;
md += `| workload | client | msgs/s (spread) | client CPU µs/msg (spread) | client CPU | msgs per write | server CPU µs/msg | msgs/s × ws+addons | ws+addons CPU/msg ÷ ours (higher: cheaper) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n`;
for (const w of WORKLOADS) {
  const anchor = results.find((r) => r.workload === w.id && r.id === "ws");
  for (const r of results) r.msgsPerWrite ??= median(r.runs.filter((x) => !x.error).map((x) => x.msgsPerWrite ?? 0));
  for (const r of results.filter((x) => x.workload === w.id)) {
    const speed = paired(r, anchor, (x) => x.msgsPerSec);
    const cheap = paired(r, anchor, (x) => 1 / x.clientCpuUsPerMsg);
    const name = `${r.floor ? "*" : ""}${r.client}${r.floor ? "*" : ""}${r.error ? ` (${r.error})` : ""}`;
    md += `| ${w.name} | ${name} | ${(r.msgsPerSec / 1e3).toFixed(r.msgsPerSec < 1e4 ? 2 : 1)} k (${kFmt(r.spread[0])}–${kFmt(r.spread[1])}) | ${r.clientCpuUsPerMsg.toFixed(2)} (${r.cpuSpread[0].toFixed(2)}–${r.cpuSpread[1].toFixed(2)}) | ${(r.clientCpuShare * 100).toFixed(0)} % | ${r.msgsPerWrite && ON_NODE.has(r.id) ? r.msgsPerWrite.toFixed(r.msgsPerWrite < 10 ? 2 : 0) : "–"} | ${r.serverCpuUsPerMsg.toFixed(2)} | ${ratioFmt(speed)} | ${ratioFmt(cheap)} |\n`;
  }
}
md += `\n*In italics*: no WebSocket library, the floors: pre-masked frames built once and written as they are, echoes counted by length, from Node's \`net\` and from C (epoll; bench/e2e/loadgen.c with one connection; its CPU as it reports it, its writes not counted). Client CPU: user + system time of the client process (all threads) over the window, per echoed message; msgs per write: messages echoed per write system call of the client (/proc/self/io, Node clients only: Deno and Bun send with send/sendmsg, which it does not count), the pipeline's batching.\n`;
writeFileSync(`${root}bench/results/client-latest.md`, md);
console.log(`\nbench/results/client-latest.md:\n\n${md}`);
