// Where an idle connection's bytes are on Bun (issue 19), as bench/conns/heap.mjs is for Node: runs a
// server in this Bun process, opens N idle WebSocket connections to it with the C generator
// (bench/conns/conns.c), and prints per connection, after Bun.gc(true): RSS, the JSC heap size
// (bun:jsc heapStats()), its extra memory (array buffers and other malloc'ed memory JSC is told
// of), and the difference of objectTypeCounts (objects per connection, by class).
//   bun bench/conns/bun-heap.mjs [--server ours|native|listen] [--count 5000] [--warm 1000] [--top 30]
// --warm W: W connections opened and closed before the baseline (JIT, pools, first-use costs).
import { heapStats } from "bun:jsc";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const N = Number(opt("count", 5000));
const WARM = Number(opt("warm", 1000));
const TOP = Number(opt("top", 30));
const server = opt("server", "ours");
const root = new URL("../../", import.meta.url).pathname;
const gen = `${root}build/conns`;
execFileSync("cc", ["-O2", "-o", gen, `${root}bench/conns/conns.c`]);

let port;
if (server === "ours") {
  const { serve } = await import("wasmsocket/bun");
  // As examples/echo-server.mjs serves.
  const options = { perMessageDeflate: true, maxMessageSize: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024 };
  port = serve({ ...options, port: 0, hostname: "127.0.0.1" }, (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }))).port;
} else if (server === "native") {
  port = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, s) => (s.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: { maxPayloadLength: 64 * 1024 * 1024, idleTimeout: 0, message: (ws, m) => ws.send(m) },
  }).port;
} else {
  const OK = new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  port = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data(s) { if (!s.data) { s.data = true; s.write(OK); } }, open() {}, close() {}, error() {} } }).port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
const settle = async () => {
  await sleep(300);
  Bun.gc(true);
  await sleep(300);
  Bun.gc(true);
  return { rss: rssKb() * 1024, heap: heapStats() };
};

/** Opens `count` connections; resolves with a function that closes them (resolving once closed). */
async function open(count, prefix) {
  const p = Bun.spawn([gen, "127.0.0.1", String(port), String(count), "0", prefix, "2", "30", "600"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  let buf = "";
  const line = async () => {
    for (;;) {
      const i = buf.indexOf("\n");
      if (i >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return JSON.parse(l);
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("generator ended");
      buf += new TextDecoder().decode(value);
    }
  };
  const opened = await line();
  return {
    opened,
    close: async () => {
      p.stdin.write("close\n");
      p.stdin.flush();
      const r = await line();
      p.stdin.write("exit\n");
      p.stdin.end();
      await p.exited;
      return r;
    },
  };
}

if (WARM) {
  const w = await open(WARM, "127.0.250");
  await w.close();
  await sleep(1000);
}
const a = await settle();
const c = await open(N, "127.0.9");
await sleep(2000);
const b = await settle();
const per = (x, y) => ((y - x) / N).toFixed(0);
console.log(`${server}: ${c.opened.opened} open (${c.opened.failed} failed), warm ${WARM}; per connection, bytes: RSS ${per(a.rss, b.rss)}, JSC heapSize ${per(a.heap.heapSize, b.heap.heapSize)}, extraMemorySize ${per(a.heap.extraMemorySize, b.heap.extraMemorySize)}, objects ${(b.heap.objectCount - a.heap.objectCount) / N}`);
const rows = [];
const ta = a.heap.objectTypeCounts, tb = b.heap.objectTypeCounts;
for (const k of new Set([...Object.keys(ta), ...Object.keys(tb)])) {
  const d = ((tb[k] ?? 0) - (ta[k] ?? 0)) / N;
  if (Math.abs(d) >= 0.01) rows.push([k, d]);
}
rows.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
for (const [k, d] of rows.slice(0, TOP)) console.log(`${d.toFixed(2).padStart(8)}  ${k}`);
await c.close();
process.exit(0);
