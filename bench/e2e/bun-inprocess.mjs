// Our JS per message on Bun without sockets: a fake Bun.listen hands serve() (the WebSocket-only door,
// as the e2e 'bun' row runs it) a fake socket, and masked frames are fed to its data handler, PER
// (default 16 at 32 B, 8 at 4 KiB, as the loadgen's reads carry them) per call, echoed as
// examples/echo-server.mjs does. Bun's --cpu-prof of an e2e server puts all time outside JS under
// "write"; this one profiles our JS alone (bun --cpu-prof --cpu-prof-interval=50 ...). Each call
// gets a fresh copy of the frames, as Bun's reads are (REUSE=1: the same buffer every call).
//   bun bench/e2e/bun-inprocess.mjs [ROOT] [SIZE 32|4096] [text|binary] [SECONDS]   (ROOT: a checkout with dist/)
const [root = new URL("../..", import.meta.url).pathname.replace(/\/$/, ""), sizeS = "32", kind = "text", secsS] = process.argv.slice(2);
const size = Number(sizeS), secs = Number(secsS ?? 3);
let handlers;
const realBun = globalThis.Bun;
const fake = { listen(o) { handlers = o.socket; return { port: 1, hostname: "x", stop() {} }; }, connect: realBun.connect };
try { realBun.listen = fake.listen; } catch (e) { console.log("assign failed", e.message); }
if (realBun.listen !== fake.listen) { Object.defineProperty(realBun, "listen", { value: fake.listen, configurable: true, writable: true }); }
const { serve } = await import(`${root}/dist/bun.js`);
const options = { perMessageDeflate: true, maxMessageSize: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024 };
serve({ ...options, port: 1 }, (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
let written = 0;
const sock = { data: undefined, write(b, off, len) { const n = len ?? b.length - (off ?? 0); written += n; return n; }, end() {}, setNoDelay() {} };
handlers.open(sock);
const req = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
handlers.data(sock, new TextEncoder().encode(req));
await new Promise((r) => setTimeout(r, 50));
// 16 masked frames
const per = Number(process.env.PER ?? (size < 126 ? 16 : 8));
const hdr = size < 126 ? 6 : 8;
const chunk = new Uint8Array(per * (hdr + size));
for (let i = 0; i < per; i++) {
  const o = i * (hdr + size);
  chunk[o] = 0x80 | (kind === "text" ? 1 : 2);
  let h = o + 1;
  if (size < 126) chunk[h++] = 0x80 | size; else { chunk[h++] = 0x80 | 126; chunk[h++] = size >> 8; chunk[h++] = size & 255; }
  const key = [0x12, 0x34, 0x56, 0x78];
  chunk.set(key, h); h += 4;
  for (let j = 0; j < size; j++) chunk[h + j] = (97 + (j % 26)) ^ key[j & 3];
}
written = 0;
const data = handlers.data;
// Bun hands every read to JS as a fresh buffer (and ours may keep it: large binary messages are views
// of it): a fresh copy of the frames each call, as Bun's reads cost, unless REUSE=1 (the same one each time).
const reuse = process.env.REUSE === "1";
let msgs = 0;
const t0 = performance.now();
let t = t0;
while (t - t0 < secs * 1000) {
  for (let k = 0; k < 1000; k++) data(sock, reuse ? chunk : chunk.slice());
  msgs += 1000 * per;
  t = performance.now();
}
const expect = msgs * (size + (size < 126 ? 2 : 4));
console.log(`${root.split("/").pop()} ${size} ${kind}: ${((t - t0) * 1e6 / msgs).toFixed(1)} ns/msg  (written ${written === expect ? "ok" : written + " != " + expect})`);
