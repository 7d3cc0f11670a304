// One WebSocket client as a pipelined load generator, in its own process (Node, Deno or Bun): one
// connection, INFLIGHT messages in flight, each echo answered by the next send; every echo's size
// checked and every 64th compared byte for byte. After a warm-up it measures a fixed window and
// prints one JSON line: messages, msgs/s, the client's own CPU (all threads, /proc/self/stat) and,
// given --server-pid, the server's CPU over the same window.
//   <runtime> bench/client/client.mjs --impl ID --port P --size BYTES --type text|binary
//     --inflight N --seconds S [--warmup S] [--server-pid PID] [--dist DIR]
// --dist: another build of this library to load instead of ./dist (bench/client/ab.mjs).
// ID: wasmsocket-node (ws-style WebSocket, wasmsocket/node), wasmsocket-whatwg (WebSocketClient,
// wasmsocket on Node), wasmsocket-deno, wasmsocket-bun (connect() from wasmsocket/deno, /bun), ws
// (ws's client; addons or not as WS_NO_BUFFER_UTIL / WS_NO_UTF_8_VALIDATE say), global (the runtime's
// own WebSocket: undici on Node, run with --experimental-websocket on Node 20), tcp (no WebSocket library:
// pre-masked frames written on a node:net socket and echoes counted by length: the I/O floor).
import { readFileSync } from "node:fs";
import net from "node:net";

const argv = globalThis.Deno ? Deno.args : process.argv.slice(2);
const opt = (n, d) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : d);
const impl = opt("impl");
const port = Number(opt("port"));
const size = Number(opt("size", 32));
const text = opt("type", "text") === "text";
const inflight = Number(opt("inflight", 16));
const seconds = Number(opt("seconds", 4));
const warmup = Number(opt("warmup", 1));
const serverPid = opt("server-pid");
const url = `ws://127.0.0.1:${port}/`;
const dist = opt("dist") ? new URL(`file://${opt("dist").replace(/\/?$/, "/")}`).href : "../../dist/";
const exit = (code) => (globalThis.Deno ? Deno.exit(code) : process.exit(code));
const fail = (msg) => {
  console.error(`${impl}: ${msg}`);
  exit(1);
};

// The payload: letters for text, a byte pattern for binary.
const bytes = new Uint8Array(size);
for (let i = 0; i < size; i++) bytes[i] = text ? 97 + (i % 26) : (i * 131 + 7) & 0xff;
const str = text ? new TextDecoder().decode(bytes) : undefined;
const payload = text ? str : bytes;

/** utime + stime of a process, in clock ticks (all its threads: GC and I/O threads count too). */
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
};
/** Read and write system calls so far (all threads): how many messages each write carried. */
const syscalls = () => {
  const io = readFileSync("/proc/self/io", "utf8");
  return { r: Number(/syscr: (\d+)/.exec(io)[1]), w: Number(/syscw: (\d+)/.exec(io)[1]) };
};
const peakRssMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;

let received = 0;
let sendOne;
/** Checks one echo: its size always, its bytes every 64th message. */
function check(data) {
  if (typeof data === "string") {
    if (data.length !== size || ((received & 63) === 0 && data !== str)) fail(`bad echo (string of ${data.length})`);
    return;
  }
  const b = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  if (b.byteLength !== size) fail(`bad echo (${b.byteLength} bytes, expected ${size})`);
  if ((received & 63) === 0) {
    for (let i = 0; i < size; i += 1 + (i & 7)) if (b[i] !== bytes[i]) fail(`bad echo byte at ${i}`);
  }
}
function onEcho(data) {
  check(data);
  received++;
  sendOne();
}

let extensions = "";
async function open() {
  switch (impl) {
    case "wasmsocket-node":
    case "ws": {
      const { WebSocket } = impl === "ws" ? await import("ws") : await import(`${dist}node.js`);
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.on("error", (e) => fail(String(e)));
      ws.on("message", onEcho);
      sendOne = () => ws.send(payload);
      await new Promise((r) => ws.once("open", r));
      extensions = ws.extensions;
      return;
    }
    case "wasmsocket-whatwg":
    case "global": {
      const Ctor = impl === "global" ? globalThis.WebSocket : (await import(`${dist}node.js`)).WebSocketClient;
      if (!Ctor) fail("no global WebSocket (Node 20 needs --experimental-websocket)");
      const ws = impl === "global" ? new Ctor(url) : new Ctor(url, [], { perMessageDeflate: false });
      ws.binaryType = "arraybuffer";
      ws.onerror = (e) => fail(String(e.message ?? e.error ?? "error"));
      ws.onmessage = (e) => onEcho(e.data);
      sendOne = () => ws.send(payload);
      await new Promise((r) => (ws.onopen = r));
      extensions = ws.extensions;
      return;
    }
    case "wasmsocket-deno":
    case "wasmsocket-bun": {
      const { connect } = await import(`${dist}${impl === "wasmsocket-deno" ? "deno" : "bun"}.js`);
      const ws = connect(url, { perMessageDeflate: false });
      ws.on("error", (e) => fail(String(e)));
      ws.on("message", onEcho);
      sendOne = () => ws.send(payload);
      await new Promise((r) => ws.on("open", r));
      extensions = ws.extensions ?? "";
      return;
    }
    case "tcp":
      return openTcp();
    default:
      fail("unknown --impl");
  }
}

/** No WebSocket library: one masked frame built once and written as is; echoes counted by length. */
async function openTcp() {
  const key = [0x12, 0x34, 0x56, 0x78];
  const hl = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const frame = Buffer.alloc(hl + 4 + size);
  frame[0] = 0x80 | (text ? 1 : 2);
  if (hl === 2) frame[1] = 0x80 | size;
  else if (hl === 4) (frame[1] = 0x80 | 126), frame.writeUInt16BE(size, 2);
  else (frame[1] = 0x80 | 127), frame.writeBigUInt64BE(BigInt(size), 2);
  frame.set(key, hl);
  for (let i = 0; i < size; i++) frame[hl + 4 + i] = bytes[i] ^ key[i & 3];
  const echoLen = hl + size; // the server's frames are not masked
  const s = net.connect({ port, host: "127.0.0.1", noDelay: true });
  s.on("error", (e) => fail(String(e)));
  s.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  let head = true;
  let carry = 0;
  await new Promise((resolve) => {
    s.on("data", (d) => {
      if (head) {
        const at = d.indexOf("\r\n\r\n");
        if (at < 0) return;
        if (!d.subarray(0, 12).toString().includes("101")) fail("no 101");
        head = false;
        d = d.subarray(at + 4);
        resolve();
      }
      carry += d.length;
      while (carry >= echoLen) {
        carry -= echoLen;
        received++;
        sendOne();
      }
    });
  });
  sendOne = () => s.write(frame);
}

await open();
for (let i = 0; i < inflight; i++) sendOne();
await new Promise((r) => setTimeout(r, warmup * 1000));
const io0 = syscalls();
const c0 = ticks("self");
const s0 = serverPid ? ticks(serverPid) : 0;
const n0 = received;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const n1 = received;
const t1 = performance.now();
const c1 = ticks("self");
const s1 = serverPid ? ticks(serverPid) : 0;
const io1 = syscalls();
const hz = 100; // USER_HZ on Linux (getconf CLK_TCK); run.mjs checks it
const messages = n1 - n0;
const elapsed = (t1 - t0) / 1000;
console.log(JSON.stringify({
  impl, size, inflight, extensions, seconds: elapsed, messages,
  msgsPerSec: messages / elapsed,
  mbPerSec: (messages * size) / elapsed / 1e6,
  clientCpuSeconds: (c1 - c0) / hz,
  clientCpuUsPerMsg: (((c1 - c0) / hz) / messages) * 1e6,
  serverCpuUsPerMsg: serverPid ? (((s1 - s0) / hz) / messages) * 1e6 : undefined,
  peakRssMb: peakRssMb(),
  msgsPerWrite: messages / Math.max(1, io1.w - io0.w),
  msgsPerRead: messages / Math.max(1, io1.r - io0.r),
}));
exit(0);
