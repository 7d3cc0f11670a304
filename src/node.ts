// wasmsocket/node: the Node.js front doors (server, client) over node:net, node:tls and node:http.
export * from "./index.js";
export { WebSocketServer, type ServerOptions } from "./adapters/node/server.js";
export { WebSocket, CONNECTING, OPEN, CLOSING, CLOSED } from "./adapters/node/websocket.js";
export { connect, type ClientOptions } from "./adapters/node/client.js";
export { zlibEngine, nodeDeflateEngine, zlibEngineAvailable } from "./adapters/node/zlib-engine.js";
import { WhatwgWebSocket } from "./adapters/whatwg.js";
import type { EventSocket } from "./adapters/whatwg.js";
import { connect as nodeConnect, type ClientOptions as NodeClientOptions } from "./adapters/node/client.js";

/** The browser's WebSocket API on Node: `new WebSocketClient(url, protocols)`. */
export class WebSocketClient extends WhatwgWebSocket {
  constructor(url: string | URL, protocols?: string | string[], options: NodeClientOptions = {}) {
    const list = typeof protocols === "string" ? [protocols] : protocols;
    super(String(url), nodeConnect(url, { ...options, protocols: list }) as unknown as EventSocket);
  }
}
