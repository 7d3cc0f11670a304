// Deno.serve's built-in WebSocket echoing, as bench/e2e/deno-native.mjs, but with reusePort so that
// several processes share the port (more connections than one process's files).
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1]);
Deno.serve({ port, hostname: "127.0.0.1", reusePort: true, onListen: () => console.log(`listening on ws://127.0.0.1:${port} pid=${Deno.pid}`) }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
