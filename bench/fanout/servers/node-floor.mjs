// The floor of a fan-out on Node: not a WebSocket library, the least a Node program can do for the
// generator's workload. The handshake is answered by hand; a publisher's frames are unmasked and
// reframed once; each subscriber gets what a turn published in ONE socket.write, after the poll
// phase (setImmediate). No limits, no validation, no events: what is left is Node's own cost per
// socket write (the stream, the WriteWrap, the syscall). It only takes what bench/fanout/fanout.c
// sends (binary and ping frames up to 64 KiB, masked); anything else is a bug in this file.
//   node node-floor.mjs --port N
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { frame as masked, readMaskedFrame } from "../../lib/frames.mjs";

const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const subscribers = [];
const queued = new Map(); // subscriber socket -> frames published since the last flush
let flushScheduled = false;

// FLOOR_DIRECT=1: below the stream too, straight to the handle (Node's internal WriteWrap, from the
// deprecated process.binding): what is left is libuv's uv_try_write and the syscall. Writes that do
// not complete at once are not tracked: for this measurement only, never for a real server.
const direct = process.env.FLOOR_DIRECT === "1";
const { WriteWrap } = direct ? process.binding("stream_wrap") : {};
let req;
function writeDirect(socket, data) {
  req ??= new WriteWrap();
  req.handle = socket._handle;
  req.oncomplete = () => {};
  req.async = false;
  const err = socket._handle.writeBuffer(req, data);
  if (err) return socket.destroy();
  if (req.async) req = undefined; // libuv holds it until the write completes
}

function flush() {
  flushScheduled = false;
  for (const [socket, frames] of queued) {
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    if (direct) writeDirect(socket, data);
    else socket.write(data);
  }
  queued.clear();
}

function publish(frame) {
  for (const s of subscribers) {
    const q = queued.get(s);
    if (q) q.push(frame);
    else queued.set(s, [frame]);
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function frame(opcode, payload) {
  const n = payload.length;
  const head = n <= 125 ? Buffer.from([0x80 | opcode, n]) : Buffer.from([0x80 | opcode, 126, n >> 8, n & 255]);
  return Buffer.concat([head, payload]);
}

function onPublisherData(socket, state, chunk) {
  let buf = state.rest ? Buffer.concat([state.rest, chunk]) : chunk;
  let at = 0;
  while (readMaskedFrame(buf, at)) {
    const { op, len, key: h } = masked;
    const key = buf.subarray(h, h + 4);
    const payload = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) payload[i] = buf[h + 4 + i] ^ key[i & 3];
    at = masked.end;
    if (op === 9) socket.write(frame(10, payload));
    else if (op === 2) publish(frame(2, payload));
  }
  state.rest = at < buf.length ? Buffer.from(buf.subarray(at)) : undefined;
}

const server = createServer((_req, res) => res.writeHead(426).end());
server.on("upgrade", (req, socket) => {
  socket.on("error", () => {});
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + GUID).digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  if (req.url === "/pub") {
    const state = { rest: undefined };
    socket.on("data", (chunk) => onPublisherData(socket, state, chunk));
  } else {
    subscribers.push(socket);
    // A subscriber only pings once, before the publishing starts.
    const state = { rest: undefined };
    socket.on("data", (chunk) => onPublisherData(socket, state, chunk));
    socket.on("close", () => subscribers.splice(subscribers.indexOf(socket), 1));
  }
});
server.listen(port, "127.0.0.1", () => console.log(`listening on ws://127.0.0.1:${port}`));
