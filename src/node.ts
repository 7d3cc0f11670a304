// wasmsocket/node: ws 8's API (WebSocket, WebSocketServer, createWebSocketStream) on our engine, plus
// the runtime-neutral core. `import WebSocket from "wasmsocket/node"` and `require("wasmsocket/node")`
// give the WebSocket class, as `ws` does (README, "From ws").
export * from "./index.js";
export {
  WebSocketServer, WebSocketServer as Server,
  type ServerOptions, type ServerEvents, type VerifyClient, type VerifyClientInfo, type VerifyClientCallback,
} from "./adapters/node/server.js";
export {
  WebSocket, WebSocket as default, CONNECTING, OPEN, CLOSING, CLOSED,
  type WebSocketEvents, type RawData, type Data, type BinaryType, type SocketOptions,
} from "./adapters/node/websocket.js";
export { type ClientOptions } from "./adapters/node/websocket.js";
export { type PerMessageDeflateOptions, defaultDeflateEngine as nodeDeflateEngine } from "./adapters/deflate.js";
export { Event, MessageEvent, CloseEvent, ErrorEvent } from "./adapters/node/event-target.js";
export { zlibEngine, zlibEngineAvailable } from "./adapters/zlib-engine.js";
import { WhatwgWebSocket } from "./adapters/whatwg.js";
import type { EventSocket } from "./adapters/whatwg.js";
import { WebSocket } from "./adapters/node/websocket.js";
import type { ClientOptions } from "./adapters/node/websocket.js";

/** An addition: `connect(url, options)` is `new WebSocket(url, options.protocols, options)`. */
export function connect(url: string | URL, options: ClientOptions = {}): WebSocket {
  return new WebSocket(url, options.protocols ?? [], options);
}

/** The browser's WebSocket API on Node: `new WebSocketClient(url, protocols)`. */
export class WebSocketClient extends WhatwgWebSocket {
  constructor(url: string | URL, protocols?: string | string[], options: ClientOptions = {}) {
    const list = typeof protocols === "string" ? [protocols] : protocols ?? [];
    // Text as strings (the browser API decodes it anyway), and every failure reported through events.
    const ws = new WebSocket(url, list, { ...options, textAsBytes: false });
    super(String(url), ws as unknown as EventSocket);
  }
}
export { createWebSocketStream } from "./adapters/node/stream.js";
import { WebSocketServer } from "./adapters/node/server.js";
import { createWebSocketStream } from "./adapters/node/stream.js";

// ws's statics: `WebSocket.Server`, `WebSocket.WebSocketServer`, `WebSocket.WebSocket`,
// `WebSocket.createWebSocketStream`, so code written against the default export works unchanged.
Object.assign(WebSocket, { Server: WebSocketServer, WebSocketServer, WebSocket, createWebSocketStream });
declare module "./adapters/node/websocket.js" {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace WebSocket {
    let Server: typeof WebSocketServer;
    let WebSocketServer: typeof import("./adapters/node/server.js").WebSocketServer;
    let WebSocket: typeof import("./adapters/node/websocket.js").WebSocket;
    let createWebSocketStream: typeof import("./adapters/node/stream.js").createWebSocketStream;
  }
}
