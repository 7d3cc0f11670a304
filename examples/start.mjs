#!/usr/bin/env node
// `npm start`: an echo WebSocket server on port 9001 (permessage-deflate on) that also serves, on
// plain HTTP GET, a page connecting back with the browser's own WebSocket and showing which core
// (WASM SIMD or JS) the library runs on inside the browser.
//   node examples/start.mjs [--port 9001] [--host 127.0.0.1]
import http from "node:http";
import { readFileSync } from "node:fs";
import { WebSocketServer, backendInfo } from "wasmsocket/node";

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(arg("port", 9001));
const host = arg("host", "127.0.0.1");
const bundle = readFileSync(new URL("../dist/browser.js", import.meta.url));
const page = readFileSync(new URL("./page.html", import.meta.url));
const swPage = readFileSync(new URL("./sw.html", import.meta.url));
const sw = readFileSync(new URL("./sw.js", import.meta.url));

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path === "/") res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(page);
  else if (path === "/wasmsocket.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(bundle);
  else if (path === "/sw.html") res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(swPage);
  else if (path === "/sw.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(sw);
  else res.writeHead(404).end("not found\n");
});
const wss = new WebSocketServer({ server, perMessageDeflate: true, maxMessageSize: 64 * 1024 * 1024 });
wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
server.listen(port, host, () => {
  console.log(`listening on ws://${host}:${port} (node, core: ${backendInfo().name}); page at http://${host}:${port}/`);
});
