#!/usr/bin/env node
// `npm run bench:e2e:http2` (also run at the end of `npm run bench:e2e`): our Node echo server
// (examples/echo-server.mjs) over HTTP/1.1 and over cleartext HTTP/2 (`--http2`, RFC 8441), driven
// by the same Node load generator (bench/e2e/ws-loadgen.mjs: pre-masked frames pipelined on N
// WebSockets; h1: N TCP connections, h2: N streams of one session). Rounds alternate h1 and h2 (and
// which goes first), a fresh server per run; medians and min–max spreads of msgs/s and server CPU
// per message. Writes bench/results/e2e-http2-latest.{json,md}.
//   node bench/e2e/http2.mjs [--runs 5 --seconds 4]
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { execFileSync } from "node:child_process";
import os from "node:os";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const RUNS = Number(opt("runs", 5));
const SECONDS = Number(opt("seconds", 4));
const root = new URL("../../", import.meta.url).pathname;
mkdirSync(`${root}bench/results`, { recursive: true });
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;

// Ours over each, and each transport alone (a raw echo of the same bytes, no WebSocket): the
// calibration rows say what the transport costs by itself.
const MODES = [
  { id: "h1", gen: "h1", name: "wasmsocket, HTTP/1.1 (a TCP connection per WebSocket)", server: ["examples/echo-server.mjs"] },
  { id: "h2", gen: "h2", name: "wasmsocket, HTTP/2 cleartext (all WebSockets on one session)", server: ["examples/echo-server.mjs", "--http2"] },
  { id: "tcpraw", gen: "h1", raw: true, name: "calibration: raw TCP echo (node:net, no WebSocket)", server: ["bench/e2e/tcp-echo.mjs"] },
  { id: "h2raw", gen: "h2", raw: true, name: "calibration: raw node:http2 stream echo (no WebSocket)", server: ["bench/e2e/h2-raw-echo.mjs"] },
].filter((m) => !opt("only") || opt("only").split(",").includes(m.id));
const WORKLOADS = [
  { id: "32B", name: "32 B text, 50 WebSockets × 16 in flight", args: [50, 16, 32, "text"] },
  { id: "4KiB", name: "4 KiB binary, 10 × 8", args: [10, 8, 4096, "binary"] },
];

const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runOnce(mode, w) {
  const port = await freePort();
  const server = spawn(process.execPath, [...mode.server, "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise((resolve, reject) => {
      server.stdout.on("data", (d) => String(d).includes("listening") && resolve());
      server.on("exit", (c) => reject(new Error(`server exited ${c}`)));
    });
    const env = { ...process.env, ECHO_RAW: mode.raw ? "1" : "0" };
    const gen = spawn(process.execPath, ["bench/e2e/ws-loadgen.mjs", mode.gen, String(port), ...w.args.map(String), String(SECONDS)], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "", c0;
    const res = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { gen.kill(); reject(new Error("load generator timed out")); }, (SECONDS + 30) * 1000);
      gen.stdout.on("data", (d) => {
        out += d;
        if (c0 === undefined && out.includes("start\n")) c0 = cpuTicks(server.pid);
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) {
          clearTimeout(timer);
          resolve({ ...JSON.parse(line), serverCpuSeconds: (cpuTicks(server.pid) - c0) / CLK_TCK });
        }
      });
      gen.on("exit", (c) => c && reject(new Error(`load generator exited ${c}: ${out}`)));
    });
    if (res.bad) throw new Error(`${res.bad} echoes with a wrong byte`);
    return { ...res, cpuUsPerMsg: (res.serverCpuSeconds / res.messages) * 1e6 };
  } finally {
    server.kill();
  }
}

const results = [];
for (const w of WORKLOADS) {
  const runs = new Map(MODES.map((m) => [m.id, []]));
  for (let r = 0; r < RUNS; r++) {
    // Alternate the order, so that no server always runs right after the same other one.
    for (const m of r % 2 ? [...MODES].reverse() : MODES) runs.get(m.id).push(await runOnce(m, w));
  }
  for (const m of MODES) {
    const rs = runs.get(m.id);
    const row = {
      workload: w.id, mode: m.id, runs: rs,
      msgsPerSec: median(rs.map((x) => x.msgsPerSec)), spread: [Math.min(...rs.map((x) => x.msgsPerSec)), Math.max(...rs.map((x) => x.msgsPerSec))],
      cpuUsPerMsg: median(rs.map((x) => x.cpuUsPerMsg)), cpuSpread: [Math.min(...rs.map((x) => x.cpuUsPerMsg)), Math.max(...rs.map((x) => x.cpuUsPerMsg))],
      loadgenCpuShare: median(rs.map((x) => x.loadgenCpuSeconds / x.seconds)),
    };
    results.push(row);
    console.log(`${w.id.padEnd(5)} ${m.id.padEnd(6)}  ${(row.msgsPerSec / 1e3).toFixed(0).padStart(6)} k msg/s (${(row.spread[0] / 1e3).toFixed(0)}–${(row.spread[1] / 1e3).toFixed(0)})  server ${row.cpuUsPerMsg.toFixed(2)} µs CPU/msg (${row.cpuSpread[0].toFixed(2)}–${row.cpuSpread[1].toFixed(2)})  generator ${(row.loadgenCpuShare * 100).toFixed(0)} % CPU`);
  }
}
const meta = { date: new Date().toISOString(), machine: `${os.cpus()[0].model} × ${os.cpus().length}`, node: process.version, runs: RUNS, seconds: SECONDS };
writeFileSync(`${root}bench/results/e2e-http2-latest.json`, JSON.stringify({ meta, results }, null, 2));
const k = (x) => (x / 1e3).toFixed(0);
let md = `HTTP/1.1 vs HTTP/2 (RFC 8441) on our Node server, ${meta.date.slice(0, 10)}, ${meta.machine}, Node ${meta.node}; echo, no permessage-deflate, node:http2 default settings (64 KiB windows); median of ${RUNS} alternating runs of ${SECONDS} s (min–max); generator: bench/e2e/ws-loadgen.mjs for both.\n\n| workload | server | msgs/s (spread) | server CPU µs/msg (spread) | CPU/msg × ours on HTTP/1.1 | generator CPU |\n| --- | --- | --- | --- | --- | --- |\n`;
for (const w of WORKLOADS) {
  const h1 = results.find((r) => r.workload === w.id && r.mode === "h1");
  for (const r of results.filter((x) => x.workload === w.id)) {
    md += `| ${w.name} | ${MODES.find((m) => m.id === r.mode).name} | ${k(r.msgsPerSec)} k (${k(r.spread[0])}–${k(r.spread[1])}) | ${r.cpuUsPerMsg.toFixed(2)} (${r.cpuSpread[0].toFixed(2)}–${r.cpuSpread[1].toFixed(2)}) | ${h1 ? (r.cpuUsPerMsg / h1.cpuUsPerMsg).toFixed(2) : "–"} | ${(r.loadgenCpuShare * 100).toFixed(0)} % |\n`;
  }
}
writeFileSync(`${root}bench/results/e2e-http2-latest.md`, md);
console.log("\nwritten: bench/results/e2e-http2-latest.{json,md}");
