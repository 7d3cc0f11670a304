// Fan-out with wasmsocket's topics on Node (Bun's API): every subscriber does ws.subscribe("t") on
// connect, and each message a publisher sends is wss.publish("t", data): framed once, the same bytes
// queued for every subscriber (compressed once when the subscribers' deflate keeps no context,
// else per subscriber). Publishers connect to /pub and do not subscribe, so they get nothing back
// (the same for every fan-out server).
// FANOUT_NO_CONTEXT_TAKEOVER=1: permessage-deflate with server_no_context_takeover, so one
// compression serves every subscriber.
const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1]);
const { WebSocketServer, WebSocket } = await import("wasmsocket/node");
if (typeof WebSocketServer.prototype.publish !== "function" || typeof WebSocketServer.prototype.subscriberCount !== "function" || typeof WebSocket.prototype.subscribe !== "function") {
  console.error("unsupported: this build of wasmsocket/node has no server.publish/subscriberCount or ws.subscribe");
  process.exit(4);
}
const perMessageDeflate = process.env.FANOUT_NO_CONTEXT_TAKEOVER ? { serverNoContextTakeover: true } : true;
const wss = new WebSocketServer({ port, host: "127.0.0.1", perMessageDeflate }, () => console.log(`listening on ws://127.0.0.1:${port}`));
wss.on("connection", (ws, req) => {
  if (req.url === "/pub") ws.on("message", (data) => wss.publish("t", data));
  else ws.subscribe("t");
});
