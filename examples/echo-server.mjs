#!/usr/bin/env node
// Echo server: sends every message back with its type, permessage-deflate on, 64 MiB messages.
// Runs unchanged on each runtime, on that runtime's own adapter:
//   node examples/echo-server.mjs --port 9001 [--host 127.0.0.1]
//   bun examples/echo-server.mjs --port 9001
//   deno run -A examples/echo-server.mjs --port 9001
// `--deflate-engine pako` compresses with the portable engine (browsers, workers) instead of zlib.
// Node only, WebSockets over HTTP/2 (RFC 8441), extended CONNECT enabled:
//   node examples/echo-server.mjs --http2 --port 9001                           cleartext h2 (prior knowledge)
//   node examples/echo-server.mjs --http2 --cert cert.pem --key key.pem         h2 over TLS, and HTTP/1.1 upgrades (ALPN)
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(arg("port", 9001));
const host = arg("host", "127.0.0.1");
const { pakoEngine } = await import("wasmsocket");
const perMessageDeflate = arg("deflate-engine") === "pako" ? { engine: pakoEngine } : true;
const options = { perMessageDeflate, maxMessageSize: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024 };
const echo = (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));

if (globalThis.Deno || globalThis.Bun) {
  const runtime = globalThis.Deno ? "deno" : "bun";
  const { serve, backendInfo } = await import(`wasmsocket/${runtime}`);
  // --reuse-port: several processes on one port (SO_REUSEPORT; Deno also wants --unstable-net).
  serve({ ...options, port, hostname: host, reusePort: args.includes("--reuse-port") }, echo);
  console.log(`listening on ws://${host}:${port} (${runtime}, core: ${backendInfo().name})`);
} else if (args.includes("--http2")) {
  const http2 = await import("node:http2");
  const { readFileSync } = await import("node:fs");
  const { WebSocketServer, backendInfo } = await import("wasmsocket/node");
  const cert = arg("cert");
  // `--h2-window BYTES`: stream and connection receive windows (node's default: 64 KiB).
  const window = Number(arg("h2-window", 0));
  const settings = { enableConnectProtocol: true, ...(window ? { initialWindowSize: window } : {}) };
  // Requests that are not WebSockets: 426, as the HTTP/1.1 listener answers them.
  const onRequest = (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("Upgrade Required");
  };
  const server = cert
    ? http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(arg("key")), allowHTTP1: true, settings }, onRequest)
    : http2.createServer({ settings }, onRequest);
  if (window) server.on("session", (session) => session.setLocalWindowSize(window));
  const wss = new WebSocketServer({ ...options, server });
  wss.on("connection", echo);
  server.listen(port, host, () => {
    const how = cert ? "HTTP/2 over TLS and HTTP/1.1" : "cleartext HTTP/2, prior knowledge";
    console.log(`listening on ${cert ? "wss" : "ws"}://${host}:${server.address().port} (${how}; node, core: ${backendInfo().name})`);
  });
} else {
  const { WebSocketServer, backendInfo } = await import("wasmsocket/node");
  const wss = new WebSocketServer({ ...options, port, host }, () => {
    console.log(`listening on ws://${host}:${port} (node, core: ${backendInfo().name})`);
  });
  wss.on("connection", echo);
}
