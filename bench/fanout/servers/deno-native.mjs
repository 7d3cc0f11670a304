// Fan-out on Deno.serve's built-in WebSocket (Rust): a loop over the open subscriber sockets calling
// send. Publishers connect to /pub and are not in the set (the same for every fan-out server).
// Deno.upgradeWebSocket does not offer permessage-deflate: the deflate runs report it declined.
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1]);
const subscribers = new Set();
Deno.serve({ port, hostname: "127.0.0.1", onListen: () => console.log(`listening on ws://127.0.0.1:${port}`) }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  if (new URL(req.url).pathname === "/pub") {
    socket.onmessage = (e) => {
      for (const s of subscribers) if (s.readyState === WebSocket.OPEN) s.send(e.data);
    };
  } else {
    socket.onopen = () => subscribers.add(socket);
    socket.onclose = () => subscribers.delete(socket);
  }
  return response;
});
