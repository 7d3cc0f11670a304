// The floor for bench/conns/heap.mjs: a bare node:net server that answers the WebSocket handshake
// with a canned 101 and then holds each socket with one 'data' listener that drops what arrives
// (the generator's pings go unanswered). No library can hold a connection for less than this.
import { createServer } from "node:net";
import { createHash } from "node:crypto";
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const drop = () => {};
createServer((s) => {
  s.once("data", (d) => {
    const key = /Sec-WebSocket-Key: *(\S+)/i.exec(d.toString("latin1"))[1];
    const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    s.on("data", drop);
  });
  s.on("error", drop);
}).listen(port, "127.0.0.1", () => console.log(`listening on ${port}`));
