// Fan-out with wasmsocket's topics (Bun's API) on whichever runtime runs it: on Node
// WebSocketServer from wasmsocket/node, on Deno and Bun serve() from wasmsocket/deno|bun (their raw
// sockets). Every subscriber does ws.subscribe("t") on connect, and each message a publisher sends
// is server.publish("t", data): framed once, the same bytes queued for every subscriber (compressed
// once when the subscribers' deflate keeps no context, else per subscriber). Publishers connect to
// /pub and do not subscribe, so they get nothing back (the same for every fan-out server).
// FANOUT_NO_CONTEXT_TAKEOVER=1: permessage-deflate with server_no_context_takeover, so one
// compression serves every subscriber.
//   node|bun publish.mjs --port N;  deno run -A publish.mjs --port N
const runtime = globalThis.Bun ? "bun" : globalThis.Deno ? "deno" : "node";
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1]);
const env = (k) => (globalThis.Deno ? Deno.env.get(k) : process.env[k]);
const perMessageDeflate = env("FANOUT_NO_CONTEXT_TAKEOVER") ? { serverNoContextTakeover: true } : true;
const unsupported = (what) => {
  console.error(`unsupported: this build of wasmsocket/${runtime} has no ${what}`);
  (globalThis.Deno ?? process).exit(4);
};

if (runtime === "node") {
  const { WebSocketServer, WebSocket } = await import("wasmsocket/node");
  if (typeof WebSocketServer.prototype.publish !== "function" || typeof WebSocketServer.prototype.subscriberCount !== "function" || typeof WebSocket.prototype.subscribe !== "function") unsupported("server.publish/subscriberCount or ws.subscribe");
  const wss = new WebSocketServer({ port, host: "127.0.0.1", perMessageDeflate }, () => console.log(`listening on ws://127.0.0.1:${port}`));
  wss.on("connection", (ws, req) => {
    if (req.url === "/pub") ws.on("message", (data) => wss.publish("t", data));
    else ws.subscribe("t");
  });
} else {
  const { serve } = await import(`wasmsocket/${runtime}`);
  let server;
  server = serve({ port, hostname: "127.0.0.1", perMessageDeflate }, (ws, request) => {
    if (request.path === "/pub") ws.on("message", (data) => server.publish("t", data));
    else ws.subscribe("t");
  });
  if (typeof server.publish !== "function" || typeof server.subscriberCount !== "function") unsupported("server.publish/subscriberCount from serve()");
  await server.ready;
  console.log(`listening on ws://127.0.0.1:${port}`);
}
