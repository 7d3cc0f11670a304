// Consumer (CommonJS) of the installed tarball: require("wasmsocket/node") is the WebSocket class,
// as require("ws") is, with the rest of the node entry on it; require("wasmsocket") is the same.
const WebSocket = require("wasmsocket/node");
if (require("wasmsocket") !== WebSocket) throw new Error('require("wasmsocket") is not the node entry');
if (typeof WebSocket !== "function" || WebSocket.OPEN !== 1) throw new Error("not the WebSocket class");
const { WebSocketServer, backendInfo } = WebSocket;
setTimeout(() => (console.log("timeout"), process.exit(1)), 15_000).unref();
const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on("listening", () => {
  const url = `ws://127.0.0.1:${wss.address().port}/`;
  const ws = typeof WebSocket.connect === "function" ? WebSocket.connect(url) : new WebSocket(url);
  let got;
  ws.on("open", () => ws.send("hello"));
  ws.on("message", (data) => {
    got = String(data);
    ws.close(1000);
  });
  ws.on("close", (code) => {
    const ok = code === 1000 && got === "hello";
    console.log(ok ? `ok cjs ${backendInfo().name}` : `failed: ${code} ${got}`);
    wss.close();
    process.exit(ok ? 0 : 1);
  });
});
