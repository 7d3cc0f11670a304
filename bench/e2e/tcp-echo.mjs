// Raw TCP echo (no WebSocket at all) after a canned 101: the ceiling for each runtime.
// Runs on Node, Bun (node:net) and Deno (node:net compatibility).
import net from "node:net";
const argv = globalThis.Deno ? Deno.args : process.argv.slice(2);
const port = Number(argv[argv.indexOf("--port") + 1]);
const OK = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
// Says yes to permessage-deflate when offered: the compressed frames then come back as they went.
const PMD = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
net.createServer({ noDelay: true }, (s) => {
  let upgraded = false;
  s.on("data", (d) => {
    if (upgraded) return void s.write(d);
    upgraded = true;
    const at = d.indexOf("\r\n\r\n") + 4;
    s.write(OK + (d.subarray(0, at).includes("permessage-deflate") ? PMD : "") + "\r\n");
    if (at < d.length) s.write(d.subarray(at));
  });
  s.on("error", () => {});
}).listen(port, "127.0.0.1", () => console.log(`listening on ws://127.0.0.1:${port}`));
