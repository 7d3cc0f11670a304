#!/usr/bin/env node
// Echo server: sends every message back with its type. Used by the conformance suite and benchmarks.
//   node examples/echo-server.mjs --port 9001 [--host 127.0.0.1]
import { WebSocketServer, backendInfo } from "wasmsocket/node";

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(arg("port", 9001));
const host = arg("host", "127.0.0.1");

const wss = new WebSocketServer({ port, host, perMessageDeflate: true, maxMessageSize: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024 }, () => {
  console.log(`listening on ws://${host}:${port} (core: ${backendInfo().name})`);
});
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
