// Bun.serve's built-in WebSocket (uWebSockets, C++), echoing: the native ceiling on Bun.
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
Bun.serve({
  port,
  hostname: "127.0.0.1",
  fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("not a websocket", { status: 400 })),
  // permessage-deflate when a client offers it (the compressed-text workload), as the others do;
  // send(m, true) asks to compress (Bun's default is not to). NO_DEFLATE=1 declines it (bench:client:
  // undici's client offers it and cannot be told not to).
  websocket: { maxPayloadLength: 64 * 1024 * 1024, perMessageDeflate: !process.env.NO_DEFLATE, message: (ws, m) => ws.send(m, true) },
});
console.log(`listening on ws://127.0.0.1:${port}`);
