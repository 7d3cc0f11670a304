// Fan-out the ws way: every message a publisher sends goes to every other open client, a loop over
// `wss.clients` calling send (ws's README broadcast). One script for both libraries, only the
// import differs: --lib ws (ws 8, with bufferutil and utf-8-validate installed, which it loads
// itself) or --lib wasmsocket (wasmsocket/node, ws 8's API).
// Publishers connect to /pub and are left out of the broadcast (the same for every fan-out server).
const args = process.argv.slice(2);
const arg = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const port = Number(arg("port"));
const { WebSocketServer, WebSocket } = await import(arg("lib") === "ws" ? "ws" : "wasmsocket/node");

// permessage-deflate at the library's defaults, negotiated when a client offers it (subscribers do
// in the deflate runs; publishers never do).
const wss = new WebSocketServer({ port, host: "127.0.0.1", perMessageDeflate: true }, () => console.log(`listening on ws://127.0.0.1:${port}`));
const publishers = new Set();
wss.on("connection", (ws, req) => {
  if (req.url !== "/pub") return;
  publishers.add(ws);
  ws.on("close", () => publishers.delete(ws));
  ws.on("message", (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN && !publishers.has(client)) client.send(data, { binary: isBinary });
    }
  });
});
