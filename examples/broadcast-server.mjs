#!/usr/bin/env node
// Broadcast server: every client is subscribed to one topic, and every message a client sends
// (text or binary) is published to that topic with server.publish, so every client, the sender
// included, receives it; a publish is framed (and compressed) once for all of them. With --redis,
// the processes started with the same URL form one cluster (RedisBroker): a message sent to any
// of them reaches the clients of all of them. Runs unchanged on each runtime, on its own adapter:
//   node examples/broadcast-server.mjs --port 9002 [--host 127.0.0.1] [--redis redis://127.0.0.1:6379]
//   bun examples/broadcast-server.mjs --port 9002 [...]
//   deno run -A examples/broadcast-server.mjs --port 9002 [...]
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(arg("port", 9002));
const host = arg("host", "127.0.0.1");
const redis = arg("redis");
const TOPIC = "broadcast";
const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";

// The runtime's entry (the redis package itself is loaded only when a broker connects).
const lib = await import(`wasmsocket/${runtime}`);
const { RedisBroker } = lib;
const broker = redis ? await RedisBroker.connect(redis) : undefined;
// One compression shared by every subscriber (no context takeover), and messages up to 64 MiB.
const options = { broker, perMessageDeflate: { serverNoContextTakeover: true }, maxMessageSize: 64 << 20, maxFrameSize: 64 << 20 };
// Text is published as a string (sent as text), binary as bytes (sent as binary).
const asText = (data) => (typeof data === "string" ? data : new TextDecoder().decode(data));
const join = (server) => (ws) => {
  ws.subscribe(TOPIC);
  ws.on("message", (data, isBinary) => server.publish(TOPIC, isBinary ? data : asText(data)));
};

let close;
if (runtime === "node") {
  const { WebSocketServer } = lib;
  const wss = new WebSocketServer({ ...options, port, host });
  await new Promise((resolve, reject) => wss.once("listening", resolve).once("error", reject));
  wss.on("connection", join(wss));
  wss.on("error", (err) => console.error("broadcast-server:", err.message)); // the broker's, e.g. an outage overflow
  close = () => {
    for (const ws of wss.clients) ws.close(1001);
    return new Promise((resolve) => wss.close(resolve));
  };
} else {
  const { serve } = lib;
  const server = serve({ ...options, port, hostname: host }, (ws) => join(server)(ws));
  await server.ready;
  close = () => server.close();
}
console.log(`listening on ws://${host}:${port} (${runtime}${redis ? `, cluster over ${redis}` : ""})`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await close();
  await broker?.close();
  globalThis.Deno ? Deno.exit(0) : process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  if (globalThis.Deno) Deno.addSignalListener(signal, stop);
  else process.on(signal, stop);
}
