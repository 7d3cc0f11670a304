// Raw TCP echo straight on Bun.listen (no WebSocket, no node:net layer) after a canned 101: the floor
// for any server built on Bun.listen, as ours is. bench/e2e/tcp-echo.mjs on Bun goes through node:net.
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const OK = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
// Says yes to permessage-deflate when offered: the compressed frames then come back as they went.
const PMD = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
const enc = new TextEncoder();
// What write() did not take waits here (copied: Bun may reuse the buffer it gave to data()) for drain.
const send = (s, bytes) => {
  if (s.data.backlog) return void s.data.backlog.push(bytes.slice());
  const n = s.write(bytes);
  if (n < bytes.length) s.data.backlog = [bytes.slice(Math.max(0, n))];
};
Bun.listen({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(s) {
      s.setNoDelay?.(true);
      s.data = { upgraded: false, backlog: undefined };
    },
    data(s, d) {
      if (s.data.upgraded) return send(s, d);
      s.data.upgraded = true;
      // The loadgen sends its request in one write.
      const head = new TextDecoder().decode(d);
      const end = head.indexOf("\r\n\r\n") + 4;
      send(s, enc.encode(OK + (head.slice(0, end).includes("permessage-deflate") ? PMD : "") + "\r\n"));
      if (end < d.length) send(s, d.subarray(end));
    },
    drain(s) {
      const b = s.data.backlog;
      if (!b) return;
      s.data.backlog = undefined;
      for (const x of b) send(s, x);
    },
    close() {},
    error() {},
  },
});
console.log(`listening on ws://127.0.0.1:${port}`);
