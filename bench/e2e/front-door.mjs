#!/usr/bin/env node
// The two front doors of serve() on Deno and Bun, side by side (README, "Deno and Bun: one port"):
// `http` (the runtime's node:http, upgrades handed to our engine) against `tcp` (Deno.listen /
// Bun.listen, WebSocket only). Echo msgs/s and server CPU per message (32 B text 50 × 16,
// 4 KiB binary 10 × 8, bench/e2e/loadgen.c); handshakes: 1 000 connections opened one after
// another (each handshake done before the next starts) and held, as handshakes/s and server CPU
// per handshake; then RSS per idle connection with those 1 000 open (3 s later, after a GC where
// the runtime has one: Bun). Runs round robin (run r of every server before run r + 1 of any);
// prints medians with min–max. Needs `npm run build` first.
//   node bench/e2e/front-door.mjs [--runs 5 --seconds 3 --only deno-tcp,deno-http,bun-tcp,bun-http]
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, mkdirSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { denoBinary } from "../lib/tools.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const RUNS = Number(opt("runs", 5));
const SECONDS = Number(opt("seconds", 3));
const root = new URL("../../", import.meta.url).pathname;
mkdirSync(`${root}build`, { recursive: true });
const loadgen = `${root}build/loadgen`;
execFileSync("cc", ["-O2", "-o", loadgen, `${root}bench/e2e/loadgen.c`]);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;
const deno = denoBinary(root);
const bun = `${root}node_modules/.bin/bun`;

const only = opt("only")?.split(",");
const SERVERS = ["tcp", "http"].flatMap((door) => [
  { id: `deno-${door}`, cmd: [deno, "run", "-A", "bench/e2e/front-door-echo.mjs", "--door", door] },
  { id: `bun-${door}`, cmd: [bun, "--preload", "./bench/e2e/gc-on-signal.mjs", "bench/e2e/front-door-echo.mjs", "--door", door], gc: true },
]).filter((s) => !only || only.includes(s.id));
const ECHO = [
  { id: "32B", args: [50, 16, 32, "text"] },
  { id: "4KiB", args: [10, 8, 4096, "binary"] },
];
const HANDSHAKES = 1000;

const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const rssKb = (pid) => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS")))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function start(s) {
  const port = await freePort();
  const p = spawn(s.cmd[0], [...s.cmd.slice(1), "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${s.id} did not start`)), 20_000);
    p.stdout.on("data", (d) => String(d).includes("listening") && (clearTimeout(t), resolve()));
    p.on("exit", (c) => reject(new Error(`${s.id} exited ${c}`)));
  });
  return { p, port };
}
const echo = (port, w, seconds) => JSON.parse(execFileSync(loadgen, ["127.0.0.1", String(port), ...w.args.map(String), String(seconds)], { timeout: (seconds + 30) * 1000 }).toString());

/** Opens `n` connections one after another (each handshake done before the next) and holds them; resolves with the time taken and the process. */
function hold(port, n, seconds) {
  const t0 = performance.now();
  const g = spawn(loadgen, ["127.0.0.1", String(port), String(n), "0", "32", "text", String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    g.stdout.once("data", () => resolve({ ms: performance.now() - t0, g }));
    g.on("exit", (c) => c && reject(new Error(`loadgen exited ${c}`)));
  });
}

const rows = new Map(SERVERS.map((s) => [s.id, { runs: [] }]));
for (let r = 0; r < RUNS; r++) {
  for (const s of SERVERS) {
    const { p, port } = await start(s);
    const run = {};
    try {
      for (const w of ECHO) {
        echo(port, w, 1); // warm up
        const c0 = cpuTicks(p.pid);
        const res = echo(port, w, SECONDS);
        run[w.id] = { msgs: res.msgsPerSec, cpuUs: (((cpuTicks(p.pid) - c0) / CLK_TCK) / res.messages) * 1e6 };
      }
      if (s.gc) p.kill("SIGUSR2");
      await sleep(500);
      const before = rssKb(p.pid);
      const c0 = cpuTicks(p.pid);
      const { ms, g } = await hold(port, HANDSHAKES, 10);
      run.handshakes = (HANDSHAKES / ms) * 1000;
      run.cpuUsPerHandshake = (((cpuTicks(p.pid) - c0) / CLK_TCK) / HANDSHAKES) * 1e6;
      await sleep(3000);
      if (s.gc) p.kill("SIGUSR2");
      await sleep(500);
      run.kbPerConn = (rssKb(p.pid) - before) / HANDSHAKES;
      g.kill();
    } finally {
      p.kill();
    }
    rows.get(s.id).runs.push(run);
    console.error(`run ${r + 1}/${RUNS} ${s.id}: ${JSON.stringify(run)}`);
  }
}

const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { mid: s[Math.floor(s.length / 2)], lo: s[0], hi: s[s.length - 1] };
};
const fmt = (q, d = 0, div = 1) => `${(q.mid / div).toFixed(d)} (${(q.lo / div).toFixed(d)}–${(q.hi / div).toFixed(d)})`;
console.log(`\n${new Date().toISOString().slice(0, 10)}, ${RUNS} runs round robin, median (min–max); ${execFileSync(deno, ["--version"]).toString().split("\n")[0]}, Bun ${execFileSync(bun, ["--version"]).toString().trim()}\n`);
console.log("| server | 32 B echo k msgs/s | CPU µs/msg | 4 KiB echo k msgs/s | CPU µs/msg | handshakes/s (one at a time) | CPU µs/handshake | KB RSS per idle connection |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const s of SERVERS) {
  const runs = rows.get(s.id).runs;
  const col = (f) => stat(runs.map(f));
  console.log(`| ${s.id} | ${fmt(col((x) => x["32B"].msgs), 0, 1e3)} | ${fmt(col((x) => x["32B"].cpuUs), 2)} | ${fmt(col((x) => x["4KiB"].msgs), 0, 1e3)} | ${fmt(col((x) => x["4KiB"].cpuUs), 2)} | ${fmt(col((x) => x.handshakes))} | ${fmt(col((x) => x.cpuUsPerHandshake))} | ${fmt(col((x) => x.kbPerConn), 1)} |`);
}
