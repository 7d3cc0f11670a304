#!/usr/bin/env node
// `npm run bench:conns` (issue 19): many connections on one machine. Echo servers in their own
// processes on 127.0.0.1; C generators (bench/conns/conns.c: epoll, a few dozen bytes per idle
// connection) open COUNT WebSocket connections from loopback source addresses 127.0.G.2… (each
// generator its own addresses, each address its own ephemeral ports), keep every connection alive
// with one ping per 30 s, and run 20 active connections echoing 32 B (50/s each) while the rest are
// held. Open files are capped at 20 000 per process here: a count above ONE_PROCESS runs the server
// on several processes sharing the port (Node: node:cluster; Bun and Deno: reusePort) and the
// generators in several processes too. Reports, per server and count:
//   handshakes/s while opening (all generators at once, at most 256 handshakes under way each),
//   RSS per connection after a full GC (Node and Deno with V8's --expose-gc, Bun.gc) summed over
//     the server's processes, minus the same sum before connecting,
//   server CPU while idle (% of one core over the idle window: only the pings arrive),
//   p50/p99 echo latency of the active connections with all the idle ones open,
//   RSS after every connection closed (and a GC), minus the baseline;
//   both RSS figures also as anonymous RSS (RssAnon: without file pages, see anonKb).
// Writes bench/results/conns-latest.{json,md}.
//   npm run bench:conns [-- --counts 5000,19000,100000 --only node,ws,oursbun,bunlisten,bun,oursdeno,deno --idle 20
//                          --echo 10 --settle 10 --rounds 1 --warm 0 --append --report-only]
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import os from "node:os";
import { denoBinary } from "../lib/tools.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const COUNTS = String(opt("counts", "5000,19000,100000")).split(",").map(Number);
const only = opt("only")?.split(",");
const IDLE = Number(opt("idle", 20));
const ECHO = Number(opt("echo", 10));
const SETTLE = Number(opt("settle", 10));
const ROUNDS = Number(opt("rounds", 1));
// --warm N: open and close N connections before the baseline, so that what a process pays once
// (its JIT compiling the handshake and frame paths, the compiler's own code and memory, pools) is
// in the baseline rather than spread over the connections measured. Off by default.
const WARM = Number(opt("warm", 0));
const ACTIVE = 20, ECHO_MS = 20, PING_S = 30;
/** Connections per process: server workers and generators (each under the 20 000 open files). */
const ONE_PROCESS = 19_000, PER_WORKER = 16_000, PER_GENERATOR = 18_000;
const REPORT_ONLY = args.includes("--report-only");
// --append: add this run's rows to bench/results/conns-latest.json (more rounds, other counts).
const APPEND = args.includes("--append");

const root = new URL("../../", import.meta.url).pathname;
mkdirSync(`${root}build`, { recursive: true });
mkdirSync(`${root}bench/results`, { recursive: true });
const gen = `${root}build/conns`;
if (!REPORT_ONLY) execFileSync("cc", ["-O2", "-o", gen, `${root}bench/conns/conns.c`]);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;
const deno = denoBinary(root);
const bun = `${root}node_modules/.bin/bun`;
const node = process.execPath;
const nodeGc = [node, "--expose-gc", "--import", "./bench/e2e/gc-on-signal.mjs"];
// Deno has V8's gc() too, with the flag: its RSS is then measured after a full GC like the others.
const denoGc = ["--v8-flags=--expose-gc", "--preload", "./bench/e2e/gc-on-signal.mjs"];

// How each server runs on `procs` processes: a command per process, or one (cluster) printing its pids.
const SERVERS = [
  { id: "node", name: "wasmsocket (Node)", script: "examples/echo-server.mjs", cluster: true, gc: true },
  { id: "ws", name: "ws + addons (Node)", script: "bench/e2e/ws-echo.mjs", cluster: true, gc: true },
  { id: "bun", name: "Bun.serve native", cmd: [bun, "--preload", "./bench/e2e/gc-on-signal.mjs", "bench/conns/bun-native.mjs"], gc: true },
  // Ours on Bun (Bun.listen under the driver) and on Deno (Deno.listen), several processes with reusePort.
  { id: "oursbun", name: "wasmsocket (Bun)", cmd: [bun, "--preload", "./bench/e2e/gc-on-signal.mjs", "examples/echo-server.mjs", "--reuse-port"], gc: true },
  { id: "oursdeno", name: "wasmsocket (Deno)", cmd: [deno, "run", "-A", "--unstable-net", ...denoGc, "examples/echo-server.mjs", "--reuse-port"], gc: true },
  // The floor on Bun.listen: a canned 101, then a socket holding nothing but `data = true`.
  { id: "bunlisten", name: "raw Bun.listen floor", cmd: [bun, "--preload", "./bench/e2e/gc-on-signal.mjs", "bench/conns/bun-listen-floor.mjs"], gc: true },
  { id: "deno", name: "Deno.serve native", cmd: [deno, "run", "-A", "--unstable-net", ...denoGc, "bench/conns/deno-native.mjs"], gc: true },
].filter((s) => !only || only.includes(s.id));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const rssKb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
// Anonymous RSS: RSS less the pages of files mapped (the runtime's own binary above all). Those are
// faulted in once per process, e.g. ~4 MB of V8's optimizing compiler the first time it runs, which
// a server may do before the baseline or while the connections open; shared, not per connection.
const anonKb = (pid) => Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Starts the server on `procs` processes; resolves with its pids once all listen. */
async function startServer(s, procs, port) {
  const children = [];
  const waitLine = (p, re) =>
    new Promise((resolve, reject) => {
      const rl = createInterface({ input: p.stdout });
      rl.on("line", (l) => { const m = re.exec(l); if (m) resolve(m); });
      p.on("exit", (c) => reject(new Error(`${s.name} exited ${c}`)));
      setTimeout(() => reject(new Error(`${s.name} did not start`)), 30_000);
    });
  if (s.cluster && procs > 1) {
    const p = spawn(nodeGc[0], [...nodeGc.slice(1), "bench/conns/cluster.mjs", String(procs), s.script, "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    children.push(p);
    const m = await waitLine(p, /^ready pids=([\d,]+)/);
    return { children, pids: m[1].split(",").map(Number) };
  }
  const cmd = s.cluster ? [...nodeGc, s.script] : s.cmd;
  for (let i = 0; i < procs; i++) {
    const p = spawn(cmd[0], [...cmd.slice(1), "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    children.push(p);
    await waitLine(p, /listening/);
  }
  return { children, pids: children.map((p) => p.pid) };
}

/** A generator process: its JSON answers in order. */
function startGenerator(port, count, g) {
  const p = spawn(gen, ["127.0.0.1", String(port), String(count), String(g === 0 ? ACTIVE : 0), `127.0.${g + 1}`, "2", String(PING_S), "1500"], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = [];
  let waiting;
  createInterface({ input: p.stdout }).on("line", (l) => { lines.push(JSON.parse(l)); waiting?.(); });
  const next = async (ms) => {
    const until = Date.now() + ms;
    while (!lines.length) {
      if (Date.now() > until || p.exitCode !== null) throw new Error(`generator ${g}: no answer`);
      await new Promise((r) => { waiting = r; setTimeout(r, 200); });
    }
    return lines.shift();
  };
  return { p, next, send: (cmd) => p.stdin.write(cmd + "\n") };
}

async function measure(s, count) {
  const procs = count > ONE_PROCESS ? Math.ceil(count / PER_WORKER) : 1;
  const port = await freePort();
  let children = [], pids = [];
  const gens = [];
  const gcAll = async () => {
    if (s.gc) for (const pid of pids) process.kill(pid, "SIGUSR2");
    await sleep(1500);
  };
  const rss = () => sum(pids.map(rssKb));
  const anon = () => sum(pids.map(anonKb));
  const cpu = () => sum(pids.map(cpuTicks));
  try {
    ({ children, pids } = await startServer(s, procs, port));
    await sleep(1000);
    if (WARM) {
      const w = spawn(gen, ["127.0.0.1", String(port), String(WARM), "0", "127.0.250", "2", String(PING_S), "300"], { stdio: ["pipe", "pipe", "inherit"] });
      const wl = createInterface({ input: w.stdout });
      const line = () => new Promise((r) => wl.once("line", r));
      await line();
      w.stdin.write("close\n");
      await line();
      w.kill();
      await sleep(SETTLE * 1000);
    }
    await gcAll();
    const base = rss();
    const baseAnon = anon();
    const c0 = cpu();
    const nGen = Math.ceil(count / PER_GENERATOR);
    for (let g = 0; g < nGen; g++) gens.push(startGenerator(port, Math.floor(count / nGen) + (g < count % nGen ? 1 : 0), g));
    const opened = await Promise.all(gens.map((x) => x.next(600_000)));
    const open = sum(opened.map((o) => o.opened));
    const openSeconds = Math.max(...opened.map((o) => o.seconds));
    const openCpu = (cpu() - c0) / CLK_TCK;
    // V8 gives back heap pages grown during the burst of handshakes only after a while.
    await sleep(SETTLE * 1000);
    const i0 = cpu();
    const t0 = Date.now();
    gens.forEach((x) => x.send(`idle ${IDLE}`));
    const idled = await Promise.all(gens.map((x) => x.next((IDLE + 60) * 1000)));
    const idleCpu = (cpu() - i0) / CLK_TCK / ((Date.now() - t0) / 1000);
    await gcAll();
    const held = rss();
    const heldAnon = anon();
    gens[0].send(`echo ${ECHO} ${ECHO_MS}`);
    const echo = await gens[0].next((ECHO + 60) * 1000);
    gens.forEach((x) => x.send("close"));
    const closed = await Promise.all(gens.map((x) => x.next(120_000)));
    await sleep(SETTLE * 1000);
    await gcAll();
    const after = rss();
    const afterAnon = anon();
    const row = {
      server: s.name, id: s.id, count, processes: procs, generators: nGen, opened: open, failed: sum(opened.map((o) => o.failed)),
      handshakesPerSec: open / openSeconds, openSeconds, serverCpuPerHandshakeUs: (openCpu / open) * 1e6,
      pingsPerSec: sum(idled.map((x) => x.pingsSent)) / IDLE, pongsMissing: sum(idled.map((x) => x.pingsTotal - x.pongsTotal)), stillOpen: sum(idled.map((x) => x.open)),
      idleCpuPercent: idleCpu * 100, baselineMb: base / 1024, heldMb: held / 1024, kbPerConnection: (held - base) / open,
      echoes: echo.echoes, p50us: echo.p50us, p99us: echo.p99us, maxus: echo.maxus, bad: echo.bad + sum(idled.map((x) => x.bad)),
      closed: sum(closed.map((x) => x.closed)), closeSeconds: Math.max(...closed.map((x) => x.seconds)),
      afterCloseMb: after / 1024, afterCloseOverBaselineMb: (after - base) / 1024, gc: s.gc,
      baselineAnonMb: baseAnon / 1024, kbAnonPerConnection: (heldAnon - baseAnon) / open, afterCloseAnonOverBaselineMb: (afterAnon - baseAnon) / 1024,
    };
    console.log(
      `${s.name.padEnd(20)} ${String(count).padStart(6)} on ${procs} proc: ${open} open (${row.failed} failed) ${row.handshakesPerSec.toFixed(0)} handshakes/s, ` +
        `${row.kbPerConnection.toFixed(2)} KB/conn (anon ${row.kbAnonPerConnection.toFixed(2)}), idle CPU ${row.idleCpuPercent.toFixed(1)} %, echo p50 ${row.p50us.toFixed(0)} µs p99 ${row.p99us.toFixed(0)} µs, ` +
        `after close +${row.afterCloseOverBaselineMb.toFixed(1)} MB (anon +${row.afterCloseAnonOverBaselineMb.toFixed(1)}) (base ${row.baselineMb.toFixed(0)} MB), pongs missing ${row.pongsMissing}`,
    );
    return row;
  } catch (e) {
    console.log(`${s.name} ${count}: ERROR ${e.message}`);
    return { server: s.name, id: s.id, count, processes: procs, error: String(e.message).slice(0, 200) };
  } finally {
    for (const x of gens) x.p.kill();
    for (const c of children) c.kill();
    await sleep(1000);
    for (const pid of pids) try { process.kill(pid, "SIGKILL"); } catch {}
    // Sockets of this run linger in TIME_WAIT on the generator side (their own 4-tuples): wait a bit.
    await sleep(2000);
  }
}

let results, meta;
if (REPORT_ONLY) {
  ({ results, meta } = JSON.parse(readFileSync(`${root}bench/results/conns-latest.json`, "utf8")));
} else {
  results = APPEND ? JSON.parse(readFileSync(`${root}bench/results/conns-latest.json`, "utf8")).results : [];
  // Round robin per count: round r of every server before round r + 1 of any.
  const r0 = results.reduce((m, x) => Math.max(m, (x.round ?? 0) + 1), 0);
  for (const count of COUNTS) for (let r = 0; r < ROUNDS; r++) for (const s of SERVERS) results.push({ round: r0 + r, ...(await measure(s, count)) });
  let commit = "";
  try { commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim(); } catch {}
  meta = { date: new Date().toISOString(), commit, machine: `${os.cpus()[0].model} × ${os.cpus().length}`, node: process.version, deno: execFileSync(deno, ["--version"]).toString().split("\n")[0], bun: execFileSync(bun, ["--version"]).toString().trim(), idleSeconds: IDLE, echoSeconds: ECHO, settleSeconds: SETTLE, active: ACTIVE, echoMs: ECHO_MS, pingSeconds: PING_S, warm: WARM };
  writeFileSync(`${root}bench/results/conns-latest.json`, JSON.stringify({ meta, results }, null, 2));
}

let md = `Connections, ${meta.date.slice(0, 10)}, commit ${meta.commit}, ${meta.machine}, Node ${meta.node}, ${meta.deno}, Bun ${meta.bun}. Every connection pings once per ${meta.pingSeconds} s; ${meta.active} active connections echo 32 B every ${meta.echoMs} ms for ${meta.echoSeconds} s with all others open. Idle CPU over ${meta.idleSeconds} s (pings only). RSS after a full GC (Node and Deno: V8's gc(); Bun: Bun.gc; rows noted "no GC call" include garbage), summed over the server's processes, minus the same before connecting; after close: ${meta.settleSeconds} s after the last close, GC'd.${meta.warm ? ` Warmed: ${meta.warm} connections opened and closed before the baseline.` : ""} Anonymous RSS (RssAnon) leaves out the pages of mapped files: the runtime binary's code is faulted in once per process (V8's optimizing compiler, ~4 MB, the first time it runs: before the baseline for some servers, while the connections open for others), which is shared and not per connection.\n\n`;
md += `| server | connections | round | processes | handshakes/s | KB RSS / connection | KB anon RSS / connection | idle CPU % of a core | echo p50 / p99 µs | RSS after close − baseline MB (baseline) | anon RSS after close − baseline MB | notes |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n`;
const order = ["node", "ws", "oursbun", "bunlisten", "bun", "oursdeno", "deno"];
const rows = [...results].sort((a, b) => a.count - b.count || order.indexOf(a.id) - order.indexOf(b.id) || a.round - b.round);
for (const r of rows) {
  if (r.error) { md += `| ${r.server} | ${r.count} | ${r.round + 1} | ${r.processes} | – | – | – | – | – | – | – | ${r.error} |\n`; continue; }
  const notes = [r.failed ? `${r.failed} failed to open` : "", r.pongsMissing ? `${r.pongsMissing} pongs missing` : "", r.bad ? `${r.bad} bad frames` : "", r.gc ? "" : "no GC call"].filter(Boolean).join("; ");
  md += `| ${r.server} | ${r.opened.toLocaleString("en")} | ${r.round + 1} | ${r.processes} | ${r.handshakesPerSec.toFixed(0)} | ${r.kbPerConnection.toFixed(2)} | ${r.kbAnonPerConnection?.toFixed(2) ?? "–"} | ${r.idleCpuPercent.toFixed(1)} | ${r.p50us.toFixed(0)} / ${r.p99us.toFixed(0)} | ${r.afterCloseOverBaselineMb.toFixed(1)} (${r.baselineMb.toFixed(0)}) | ${r.afterCloseAnonOverBaselineMb?.toFixed(1) ?? "–"} | ${notes} |\n`;
}
writeFileSync(`${root}bench/results/conns-latest.md`, md);
console.log(`\n${md}\nwritten: bench/results/conns-latest.{json,md}`);
