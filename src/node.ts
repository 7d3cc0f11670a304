// wasmsocket/node: the Node.js front doors (server, client) over node:net, node:tls and node:http.
export * from "./index.js";
export { WebSocketServer, type ServerOptions } from "./adapters/node/server.js";
export { WebSocket, CONNECTING, OPEN, CLOSING, CLOSED } from "./adapters/node/websocket.js";
export { connect, type ClientOptions } from "./adapters/node/client.js";
export { zlibEngine, nodeDeflateEngine, zlibEngineAvailable } from "./adapters/node/zlib-engine.js";
