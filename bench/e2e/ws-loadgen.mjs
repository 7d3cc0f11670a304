#!/usr/bin/env node
// A WebSocket echo load generator in Node, the same for HTTP/1.1 and HTTP/2 so that the two compare
// fairly: `conns` WebSockets, each with `inflight` pre-masked frames pipelined (a new one goes out
// for each echo that comes back), no permessage-deflate. h1: one TCP connection per WebSocket
// (GET + Upgrade); h2: all of them as extended CONNECT streams (RFC 8441) on one cleartext HTTP/2
// session (prior knowledge), as a browser multiplexes them. Echoes are counted by length (the
// server's frames are unmasked and of a known size) and the last byte of each is checked.
// Prints "start" when the measured window opens (after 1 s of warm-up), then one JSON line.
//   node bench/e2e/ws-loadgen.mjs h1|h2 PORT CONNS INFLIGHT SIZE text|binary SECONDS
import net from "node:net";
import http2 from "node:http2";

const [mode, portArg, connsArg, inflightArg, sizeArg, kind, secondsArg] = process.argv.slice(2);
const port = Number(portArg), conns = Number(connsArg), inflight = Number(inflightArg), size = Number(sizeArg), seconds = Number(secondsArg);
const WARMUP_MS = 1000;

const key = [0x11, 0x22, 0x33, 0x44];
const payload = Buffer.alloc(size, kind === "text" ? 0x61 : 0xa5);
const hdr = size <= 125 ? 2 : 4;
const frame = Buffer.alloc(hdr + 4 + size);
frame[0] = 0x80 | (kind === "text" ? 1 : 2);
if (size <= 125) frame[1] = 0x80 | size;
else (frame[1] = 0x80 | 126), frame.writeUInt16BE(size, 2);
for (let i = 0; i < 4; i++) frame[hdr + i] = key[i];
for (let i = 0; i < size; i++) frame[hdr + 4 + i] = payload[i] ^ key[i & 3];
// ECHO_RAW=1: the server sends back our bytes as they are (a calibration echo, not a WebSocket).
const raw = process.env.ECHO_RAW === "1";
const echoLen = raw ? frame.length : hdr + size;
const last = raw ? frame[frame.length - 1] : payload[size - 1];
// Frames for 1..inflight echoes at once, concatenated once.
const batches = [Buffer.alloc(0)];
for (let n = 1; n <= inflight; n++) batches.push(Buffer.concat(Array(n).fill(frame)));

let counting = false, messages = 0, running = true, bad = 0;

function drive(sock) {
  let rem = 0; // bytes of the current echo still to come
  sock.on("data", (d) => {
    let done = 0, i = 0;
    while (i < d.length) {
      if (rem === 0) rem = echoLen;
      const take = Math.min(rem, d.length - i);
      i += take;
      rem -= take;
      if (rem === 0) {
        if (d[i - 1] !== last) bad++;
        done++;
      }
    }
    if (counting) messages += done;
    if (running && done) sock.write(batches[Math.min(done, inflight)]);
  });
  sock.on("error", () => undefined);
  sock.write(batches[inflight]);
}

if (mode === "h1") {
  for (let c = 0; c < conns; c++) {
    const s = net.connect(port, "127.0.0.1");
    s.setNoDelay(true);
    s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let head = Buffer.alloc(0);
    const onHead = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      s.removeListener("data", onHead);
      if (!head.subarray(0, 12).toString().includes("101")) throw new Error(`not upgraded: ${head.subarray(0, 40)}`);
      drive(s);
      if (head.length > end + 4) s.emit("data", head.subarray(end + 4));
    };
    s.on("data", onHead);
  }
} else {
  // H2_WINDOW=BYTES: the generator's receive windows (stream and connection); default node's 64 KiB.
  const window = Number(process.env.H2_WINDOW ?? 0);
  const session = http2.connect(`http://127.0.0.1:${port}`, window ? { settings: { initialWindowSize: window } } : {});
  session.on("error", (e) => { throw e; });
  await new Promise((r) => session.once("remoteSettings", r));
  if (window) session.setLocalWindowSize(window);
  for (let c = 0; c < conns; c++) {
    const st = session.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": "/", "sec-websocket-version": "13" }, { endStream: false });
    st.once("response", (h) => {
      if (h[":status"] !== 200) throw new Error(`refused: ${h[":status"]}`);
      drive(st);
    });
  }
}

setTimeout(() => {
  counting = true;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  console.log("start");
  setTimeout(() => {
    counting = false;
    running = false;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    console.log(JSON.stringify({ mode, messages, seconds: secs, msgsPerSec: messages / secs, loadgenCpuSeconds: (cpu.user + cpu.system) / 1e6, bad }));
    process.exit(0);
  }, seconds * 1000);
}, WARMUP_MS);
