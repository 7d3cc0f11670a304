// The floor of a WebSocket echo on Node: not a library, the least a Node program can do for the
// e2e generator's 32 B workload (bench/e2e/loadgen.c: masked text or binary frames, one frame per
// message, no extensions). The handshake is answered by hand (the generator's fixed key); every
// frame of a read is unmasked and answered in ONE socket.write. What it leaves out, a library
// cannot: limits, fragments, control frames but ping, close handshake, timers, backpressure.
//   node node-floor.mjs --port N [--api]
// --api: the ws API's per-message work on top: each message becomes its own Buffer, is emitted
// as 'message' (data, isBinary) on an EventEmitter per socket, and the listener calls send(data,
// {binary}), which frames it into the read's answer. Without --api the payload is unmasked
// straight into the answer: the protocol floor alone. Text is checked to be ASCII or left to a
// TextDecoder({fatal}) pass, the least UTF-8 validation can cost here.
// Anything the generator does not send is a bug in this file, not handled.
import { createServer } from "node:net";
import { EventEmitter } from "node:events";
import { frame, readMaskedFrame } from "../lib/frames.mjs";

const argv = process.argv.slice(2);
const port = Number(argv[argv.indexOf("--port") + 1]);
const api = argv.includes("--api");
const ACCEPT = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const fatal = new TextDecoder("utf-8", { fatal: true });

function validText(b, from, to) {
  for (let i = from; i < to; i++) if (b[i] >= 0x80) {
    try { fatal.decode(b.subarray(from, to)); return true; } catch { return false; }
  }
  return true;
}

function headerLength(n) {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

function writeHeader(out, at, opcode, n) {
  out[at] = 0x80 | opcode;
  if (n < 126) { out[at + 1] = n; return at + 2; }
  if (n < 65536) { out[at + 1] = 126; out.writeUInt16BE(n, at + 2); return at + 4; }
  out[at + 1] = 127; out.writeUInt32BE(0, at + 2); out.writeUInt32BE(n, at + 6); return at + 10;
}

createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {});
  let rest = null;
  let open = false;
  // --api: what send() frames during one read, written once when the read is done.
  const sent = [];
  let sentBytes = 0;
  const ws = api ? new EventEmitter() : null;
  if (ws) {
    ws.send = (data, options) => {
      sent.push(options?.binary ? 2 : 1, data);
      sentBytes += headerLength(data.length) + data.length;
    };
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
  socket.on("data", (chunk) => {
    if (!open) {
      const at = chunk.indexOf("\r\n\r\n") + 4;
      open = true;
      socket.write(ACCEPT);
      if (at === chunk.length) return;
      chunk = chunk.subarray(at);
    }
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = null;
    let at = 0;
    // Without --api: the answer is at most as long as the frames read (server headers are 4 bytes
    // shorter than the masked client's), so one buffer of the read's size holds it.
    const out = api ? null : Buffer.allocUnsafe(buf.length);
    let o = 0;
    while (readMaskedFrame(buf, at)) {
      const { op, len, key: h, payload: p } = frame;
      const k0 = buf[h], k1 = buf[h + 1], k2 = buf[h + 2], k3 = buf[h + 3];
      at = frame.end;
      if (op === 8) return void socket.end(Buffer.from([0x88, 0]));
      if (api) {
        const data = Buffer.allocUnsafe(len);
        for (let i = 0; i < len; i++) data[i] = buf[p + i] ^ (i & 2 ? (i & 1 ? k3 : k2) : i & 1 ? k1 : k0);
        if (op === 1 && !validText(data, 0, len)) return void socket.destroy();
        if (op === 9) sent.push(10, data), (sentBytes += headerLength(len) + len);
        else ws.emit("message", data, op === 2);
      } else {
        const start = o = writeHeader(out, o, op === 9 ? 10 : op, len);
        for (let i = 0; i < len; i++) out[o + i] = buf[p + i] ^ (i & 2 ? (i & 1 ? k3 : k2) : i & 1 ? k1 : k0);
        o += len;
        if (op === 1 && !validText(out, start, o)) return void socket.destroy();
      }
    }
    if (at < buf.length) rest = Buffer.from(buf.subarray(at));
    if (api) {
      if (sent.length === 0) return;
      const answer = Buffer.allocUnsafe(sentBytes);
      let w = 0;
      for (let i = 0; i < sent.length; i += 2) {
        const data = sent[i + 1];
        w = writeHeader(answer, w, sent[i], data.length);
        data.copy(answer, w);
        w += data.length;
      }
      sent.length = 0;
      sentBytes = 0;
      socket.write(answer);
    } else if (o > 0) socket.write(out.subarray(0, o));
  });
}).listen(port, "127.0.0.1", () => console.log(`listening on ws://127.0.0.1:${port}`));
