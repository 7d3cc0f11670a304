// wasmsocket/node: ws 8's API (WebSocket, WebSocketServer, createWebSocketStream) on our engine, plus
// the runtime-neutral core. `import WebSocket from "wasmsocket/node"` and `require("wasmsocket/node")`
// give the WebSocket class, as `ws` does (README, "From ws"). Re-exports only, but for ws's statics
// at the end.
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
export { connect, WebSocketClient } from "./adapters/node/client-api.js";
export { createWebSocketStream } from "./adapters/node/stream.js";
export { RedisBroker, BrokerQueueFullError, type RedisBrokerOptions } from "./adapters/redis-broker.js";
import { WebSocketServer } from "./adapters/node/server.js";
import { createWebSocketStream } from "./adapters/node/stream.js";

import { WebSocket } from "./adapters/node/websocket.js";

// ws's statics: `WebSocket.Server`, `WebSocket.WebSocketServer`, `WebSocket.WebSocket`,
// `WebSocket.createWebSocketStream`, so code written against the default export works unchanged.
// The one statement in an entry: it must run wherever the entry is imported, and a bundler (the
// package says "sideEffects": false) keeps an entry's own statements but may drop a module of it
// whose exports go unused.
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
