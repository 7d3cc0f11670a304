// The floor for idle connections on Bun.listen (issue 19): a socket per connection and no more. Answers
// the generator's upgrade with a canned 101 (it always sends the same key), then answers each client
// frame (masked, short: pings and the 32 B echoes of bench/conns/conns.c) with its unmasked reply:
// pong for ping, the same message back, close for close. A socket carries `data = true` once upgraded;
// no buffers, no parser state: whole frames per read are assumed (the generator writes each in one go).
// reusePort, as bench/conns/bun-native.mjs, so that several processes can share the port.
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const OK = new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
const frames = (s, d) => {
  for (let off = 0; off + 6 <= d.length; ) {
    const op = d[off] & 15, len = d[off + 1] & 127;
    if (len >= 126 || off + 6 + len > d.length) return s.end();
    const out = new Uint8Array(2 + len);
    out[0] = 0x80 | (op === 9 ? 10 : op);
    out[1] = len;
    for (let i = 0; i < len; i++) out[2 + i] = d[off + 6 + i] ^ d[off + 2 + (i & 3)];
    s.write(out);
    if (op === 8) return s.end();
    off += 6 + len;
  }
};
Bun.listen({
  hostname: "127.0.0.1",
  port,
  reusePort: true,
  socket: {
    data(s, d) {
      if (s.data) return frames(s, d);
      s.data = true;
      s.write(OK);
    },
    open() {},
    close() {},
    error() {},
  },
});
console.log(`listening on ws://127.0.0.1:${port} pid=${process.pid}`);
