#!/usr/bin/env node
// Where a Node server's RSS goes with N idle connections and after they close (issue 19), without
// heap snapshots (writing one grows RSS): RSS, anonymous RSS (no file pages), glibc's brk heap
// ([heap] in smaps), V8's heapTotal / heapUsed / external and each V8 space's physical size, per
// connection while open (SETTLE ms after the handshakes, full GC) and in MB after every connection
// closed (AFTER ms later, full GC), against the same before connecting. Servers take --expose-gc and
// bench/conns/heap-probe.mjs; connections come from the C generator (bench/conns/conns.c).
//   node bench/conns/rss-where.mjs [--count 5000] [--rounds 2] [--only node,ws,net] [--settle 12000] [--after 10000]
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const N = Number(opt("count", 5000)), ROUNDS = Number(opt("rounds", 2));
const SETTLE = Number(opt("settle", 12_000)), AFTER = Number(opt("after", 10_000));
const root = new URL("../../", import.meta.url).pathname;
const SCRIPTS = { node: "examples/echo-server.mjs", ws: "bench/e2e/ws-echo.mjs", net: "bench/conns/raw-net.mjs" };
const ids = opt("only", "node,ws,net").split(",");
mkdirSync(`${root}build`, { recursive: true });
const gen = `${root}build/conns`;
execFileSync("cc", ["-O2", "-o", gen, `${root}bench/conns/conns.c`]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
/** KB of RSS in the brk heap (glibc malloc's main arena). */
function brkKb(pid) {
  let kb = 0;
  for (const block of readFileSync(`/proc/${pid}/smaps`, "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (block.split("\n")[0].endsWith("[heap]")) kb += Number(/\nRss:\s+(\d+)/.exec(block)[1]);
  }
  return kb;
}
function kbOf(pid) {
  const t = readFileSync(`/proc/${pid}/status`, "utf8");
  const f = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(t)[1]);
  return { rss: f("VmRSS"), anon: f("RssAnon"), brk: brkKb(pid) };
}
function line(label, a, b, div, unit, minSpace) {
  const d = (x, y) => ((y - x) / div).toFixed(unit === "B" ? 0 : 1).padStart(7);
  let s = `${label} ${unit}: RSS ${d(a.kb.rss * 1024, b.kb.rss * 1024)} anon ${d(a.kb.anon * 1024, b.kb.anon * 1024)} brk ${d(a.kb.brk * 1024, b.kb.brk * 1024)}`;
  s += ` | V8 heapTotal ${d(a.v8.mem.heapTotal, b.v8.mem.heapTotal)} used ${d(a.v8.mem.heapUsed, b.v8.mem.heapUsed)} external ${d(a.v8.mem.external, b.v8.mem.external)} |`;
  b.v8.spaces.forEach((sp, i) => {
    const x = a.v8.spaces[i].physical_space_size, y = sp.physical_space_size;
    if (Math.abs(y - x) >= minSpace) s += ` ${sp.space_name.replace("_space", "")} ${d(x, y)}`;
  });
  return s;
}

async function run(id) {
  const port = await freePort();
  const p = spawn(process.execPath, ["--expose-gc", "--import", "./bench/conns/heap-probe.mjs", SCRIPTS[id], "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit", "ipc"] });
  await new Promise((res, rej) => { createInterface({ input: p.stdout }).on("line", (l) => /listening/.test(l) && res()); p.on("exit", (c) => rej(new Error(`exit ${c}`))); });
  const take = () => new Promise((res) => { p.once("message", (v8) => res({ v8, kb: kbOf(p.pid) })); p.send("gc"); });
  await sleep(500);
  const before = await take();
  const g = spawn(gen, ["127.0.0.1", String(port), String(N), "0", "127.0.9", "2", "30", "600"], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: g.stdout });
  const next = () => new Promise((res) => lines.once("line", (l) => res(JSON.parse(l))));
  const opened = await next();
  await sleep(SETTLE);
  const open = await take();
  g.stdin.write("close\n");
  await next();
  await sleep(AFTER);
  const closed = await take();
  g.stdin.write("exit\n");
  p.kill();
  console.log(`${id}: ${opened.opened} open (${opened.failed} failed)`);
  console.log(line("  per connection open,", before, open, N, "B", N * 20));
  console.log(line("  after close,", before, closed, 2 ** 20, "MB", 2 ** 19));
}
for (let r = 0; r < ROUNDS; r++) for (const id of ids) await run(id);
