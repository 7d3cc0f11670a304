// Fan-out on Bun.serve's built-in WebSocket (uWebSockets, C++): subscribers ws.subscribe("t") when
// they open, each message a publisher sends is server.publish("t", data, true) (true: compress for
// subscribers that negotiated permessage-deflate; Bun's default is not to). Publishers connect to
// /pub and do not subscribe (the same for every fan-out server).
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  fetch: (req, server) => (server.upgrade(req, { data: { publisher: new URL(req.url).pathname === "/pub" } }) ? undefined : new Response("not a websocket", { status: 400 })),
  websocket: {
    perMessageDeflate: true, // Bun's default when on: one shared compressor, server_no_context_takeover
    open: (ws) => { if (!ws.data.publisher) ws.subscribe("t"); },
    message: (ws, m) => { server.publish("t", m, true); },
  },
});
console.log(`listening on ws://127.0.0.1:${port}`);
