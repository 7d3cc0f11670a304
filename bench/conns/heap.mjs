#!/usr/bin/env node
// Where an idle connection's bytes are (issue 19). Starts each server with --expose-gc, takes a heap
// snapshot before connecting, opens N idle WebSocket connections with the C generator
// (bench/conns/conns.c), takes another, and prints per connection: RSS, V8 heap used, external and
// array buffers, and the heap snapshot's self size and object count per constructor (the difference
// of the two snapshots, divided by N), including closures (by function name), Maps, arrays and
// bound functions. Then closes every connection and reports what stayed (heap used vs RSS).
// With --after, a third snapshot after the close shows what stayed (against the baseline).
//   node bench/conns/heap.mjs [--count 5000] [--only node,ws,net] [--top 40] [--keep DIR] [--after]
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import os from "node:os";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const N = Number(opt("count", 5000));
const TOP = Number(opt("top", 40));
const only = opt("only")?.split(",");
const root = new URL("../../", import.meta.url).pathname;
const dir = opt("keep") ?? `${os.tmpdir()}/heap-${process.pid}`;
mkdirSync(dir, { recursive: true });
mkdirSync(`${root}build`, { recursive: true });
const gen = `${root}build/conns`;
execFileSync("cc", ["-O2", "-o", gen, `${root}bench/conns/conns.c`]);
const SERVERS = [
  { id: "node", name: "wasmsocket (Node)", script: "examples/echo-server.mjs" },
  { id: "ws", name: "ws + addons (Node)", script: "bench/e2e/ws-echo.mjs" },
  { id: "net", name: "bare net.Socket", script: "bench/conns/raw-net.mjs" },
].filter((s) => !only || only.includes(s.id));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const rssKb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

/** Self size and count per class: constructor name for objects, "closure NAME" for functions, type otherwise. */
function summarize(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const m = snap.snapshot.meta;
  const F = m.node_fields.length;
  const iType = m.node_fields.indexOf("type"), iName = m.node_fields.indexOf("name"), iSize = m.node_fields.indexOf("self_size");
  const types = m.node_types[0];
  const { nodes, strings } = snap;
  const by = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += F) {
    const type = types[nodes[i + iType]];
    const name = strings[nodes[i + iName]];
    let key;
    if (type === "object") key = name;
    else if (type === "closure") key = `closure ${name || "(anonymous)"}`;
    else if (type === "string" || type === "concatenated string" || type === "sliced string") key = "(string)";
    else if (type === "code") key = "(code)";
    else key = `(${type}) ${type === "hidden" || type === "array" || type === "native" ? name : ""}`.trim();
    const size = nodes[i + iSize];
    total += size;
    const e = by.get(key) ?? by.set(key, { size: 0, count: 0 }).get(key);
    e.size += size;
    e.count++;
  }
  return { by, total };
}

function diff(a, b) {
  const rows = [];
  for (const [k, v] of b.by) {
    const o = a.by.get(k) ?? { size: 0, count: 0 };
    rows.push({ key: k, size: (v.size - o.size) / N, count: (v.count - o.count) / N });
  }
  return rows.sort((x, y) => y.size - x.size);
}

async function run(s) {
  const port = await freePort();
  const p = spawn(process.execPath, ["--expose-gc", "--import", "./bench/conns/heap-probe.mjs", s.script, "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit", "ipc"] });
  await new Promise((res, rej) => { createInterface({ input: p.stdout }).on("line", (l) => /listening/.test(l) && res()); p.on("exit", (c) => rej(new Error(`exit ${c}`))); });
  const ask = (m) => new Promise((res) => { p.once("message", res); p.send(m); });
  await sleep(500);
  // RSS and memoryUsage() after a full GC, before any snapshot (writing one grows RSS).
  const g0 = await ask("gc");
  const rss0 = rssKb(p.pid);
  const m0 = await ask({ snapshot: `${dir}/${s.id}-0.heapsnapshot` });
  const g = spawn(gen, ["127.0.0.1", String(port), String(N), "0", "127.0.9", "2", "30", "600"], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: g.stdout });
  const next = () => new Promise((res) => lines.once("line", (l) => res(JSON.parse(l))));
  const opened = await next();
  await sleep(3000);
  const g1 = await ask("gc");
  const rss1 = rssKb(p.pid);
  const m1 = await ask({ snapshot: `${dir}/${s.id}-1.heapsnapshot` });
  g.stdin.write("close\n");
  await next();
  await sleep(5000);
  const m2 = await ask(args.includes("--after") ? { snapshot: `${dir}/${s.id}-2.heapsnapshot` } : "gc");
  const rss2 = rssKb(p.pid);
  g.stdin.write("exit\n");
  p.kill();
  const a = summarize(m0.file), b = summarize(m1.file);
  const perConn = (x, y) => ((y - x) / N).toFixed(0);
  console.log(`\n== ${s.name}: ${opened.opened} open (${opened.failed} failed)`);
  console.log(`per connection, bytes: RSS ${perConn(rss0 * 1024, rss1 * 1024)} (includes what writing the first snapshot grew: see bench:conns for RSS), heapUsed ${perConn(g0.mem.heapUsed, g1.mem.heapUsed)}, external ${perConn(g0.mem.external, g1.mem.external)}, arrayBuffers ${perConn(g0.mem.arrayBuffers, g1.mem.arrayBuffers)}, snapshot self sizes ${perConn(a.total, b.total)}`);
  // (RSS after close includes what writing the two snapshots grew; bench:conns measures it without.)
  console.log(`after close, MB over baseline: RSS ${((rss2 - rss0) / 1024).toFixed(1)} (snapshots included), heapUsed ${((m2.mem.heapUsed - g0.mem.heapUsed) / 2 ** 20).toFixed(1)}, heapTotal ${((m2.mem.heapTotal - g0.mem.heapTotal) / 2 ** 20).toFixed(1)}, external ${((m2.mem.external - g0.mem.external) / 2 ** 20).toFixed(1)} (baseline RSS ${(rss0 / 1024).toFixed(1)}, heapUsed ${(g0.mem.heapUsed / 2 ** 20).toFixed(1)})`);
  console.log(`${"bytes/conn".padStart(10)} ${"objs/conn".padStart(9)}  class`);
  for (const r of diff(a, b).slice(0, TOP)) if (Math.abs(r.size) >= 1) console.log(`${r.size.toFixed(1).padStart(10)} ${r.count.toFixed(2).padStart(9)}  ${r.key}`);
  if (m2.file) {
    // What stayed after every connection closed: the same table against the baseline, in total bytes.
    console.log(`after close, kept over baseline (bytes, objects):`);
    for (const r of diff(a, summarize(m2.file)).slice(0, TOP)) if (Math.abs(r.size * N) >= 4096) console.log(`${(r.size * N).toFixed(0).padStart(10)} ${(r.count * N).toFixed(0).padStart(9)}  ${r.key}`);
  }
  if (!opt("keep")) for (const f of [m0.file, m1.file, m2.file]) if (f) rmSync(f, { force: true });
}
for (const s of SERVERS) await run(s);
if (!opt("keep")) rmSync(dir, { recursive: true, force: true });
