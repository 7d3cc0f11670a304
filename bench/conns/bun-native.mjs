// Bun.serve's built-in WebSocket (uWebSockets) echoing, as bench/e2e/bun-native.mjs, but with
// reusePort so that several processes share the port (more connections than one process's files).
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
Bun.serve({
  port,
  hostname: "127.0.0.1",
  reusePort: true,
  fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("not a websocket", { status: 400 })),
  websocket: { maxPayloadLength: 64 * 1024 * 1024, idleTimeout: 0, message: (ws, m) => ws.send(m) },
});
console.log(`listening on ws://127.0.0.1:${port} pid=${process.pid}`);
