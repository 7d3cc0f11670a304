// What the Deno and Bun servers share: the handshake decision, deflate, and client tracking.
import { Connection, type ConnectionOptions } from "../protocol/connection.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";
import { deflateForServer, type DeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import type { DeflateEngine } from "../protocol/extensions/deflate-engine.js";
import type { WebSocketConnection } from "./socket.js";

export interface RuntimeServerOptions extends ConnectionOptions {
  port?: number;
  hostname?: string;
  /** Decide whether to accept: return false (or an HTTP status) to reject. */
  verifyClient?: (request: UpgradeRequest) => boolean | number;
  /** Pick a subprotocol from the offered ones. */
  handleProtocols?: (protocols: string[], request: UpgradeRequest) => string | false | undefined;
  /** Negotiate permessage-deflate when clients offer it (default false). */
  perMessageDeflate?: boolean | DeflateOptions;
}

export type OnConnection = (ws: WebSocketConnection, request: UpgradeRequest) => void;

/** Wires the server-side handshake of a freshly accepted transport. */
export function acceptOn(ws: WebSocketConnection, conn: Connection, options: RuntimeServerOptions, engine: DeflateEngine, onConnection: OnConnection): void {
  ws.onRequest = (request) => {
    if (options.verifyClient) {
      const v = options.verifyClient(request);
      if (v === false || typeof v === "number") return conn.reject(typeof v === "number" ? v : 401);
    }
    const protocol = options.handleProtocols && request.protocols.length ? options.handleProtocols(request.protocols, request) || undefined : undefined;
    const pmd = options.perMessageDeflate;
    const deflate = pmd && request.extensions.length ? deflateForServer(request.extensions, pmd === true ? {} : pmd, engine) : undefined;
    conn.accept({ protocol, extensions: deflate?.extensions, codec: deflate?.codec });
    onConnection(ws, request);
  };
}
