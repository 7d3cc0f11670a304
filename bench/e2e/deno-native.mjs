// Deno.serve's built-in WebSocket (Rust), echoing: the native ceiling on Deno.
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1]);
Deno.serve({ port, hostname: "127.0.0.1", onListen: () => console.log(`listening on ws://127.0.0.1:${port}`) }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
