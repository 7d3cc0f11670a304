// What the Deno and Bun servers and overStreams() share: the handshake decision, deflate, and client tracking.
import { Connection, type ConnectionOptions } from "../protocol/connection.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";
import { deflateForServer, type DeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import type { DeflateEngine } from "../protocol/extensions/deflate-engine.js";
import type { WebSocketConnection } from "./socket.js";

/** How a server answers an upgrade request: serve() in wasmsocket/deno and wasmsocket/bun, and overStreams() in the server role. */
export interface UpgradeOptions {
  /** Decide whether to accept: only `true` (or a promise of it) accepts; a number rejects with that status (default: accept every request). */
  verifyClient?: (request: UpgradeRequest) => boolean | number | Promise<boolean | number>;
  /** Pick a subprotocol from the offered ones. */
  handleProtocols?: (protocols: string[], request: UpgradeRequest) => string | false | undefined;
  /** Negotiate permessage-deflate when clients offer it (default false). */
  perMessageDeflate?: boolean | DeflateOptions;
}

export interface RuntimeServerOptions extends ConnectionOptions, UpgradeOptions {
  port?: number;
  hostname?: string;
}

export type OnConnection = (ws: WebSocketConnection, request: UpgradeRequest) => void;

/** Wires the server-side handshake of a freshly accepted transport. */
export function acceptOn(ws: WebSocketConnection, conn: Connection, options: UpgradeOptions, engine: DeflateEngine, onConnection: OnConnection): void {
  ws.onRequest = (request) => {
    // The handshake may time out, or the client go, while an asynchronous verifier decides.
    const decided = (v: unknown) => {
      if (conn.state !== "connecting" || conn.request !== request) return;
      if (v === true) accept(request);
      else conn.reject(typeof v === "number" && v >= 400 && v <= 599 ? v : 401);
      ws.driver.requestFlush();
      if ((conn.state as string) !== "open") return; // rejected
      try {
        onConnection(ws, request);
      } catch (e) {
        // The application's own handler: reported as an uncaught exception, after the 101 went out.
        queueMicrotask(() => {
          throw e;
        });
      }
    };
    const accept = (request: UpgradeRequest) => {
      let protocol: string | undefined;
      try {
        protocol = options.handleProtocols && request.protocols.length ? options.handleProtocols(request.protocols, request) || undefined : undefined;
        if (protocol !== undefined && !request.protocols.includes(protocol)) throw new TypeError("handleProtocols returned a protocol that was not offered");
      } catch {
        return conn.reject(500);
      }
      const pmd = options.perMessageDeflate;
      const deflate = pmd && request.extensions.length ? deflateForServer(request.extensions, pmd === true ? {} : pmd, engine) : undefined;
      conn.accept({ protocol, extensions: deflate?.extensions, codec: deflate?.codec });
    };
    if (!options.verifyClient) return decided(true);
    // Fail closed: only an explicit yes accepts; a verifier that throws rejects with 500.
    try {
      const v = options.verifyClient(request);
      if (v && typeof (v as PromiseLike<unknown>).then === "function") (v as PromiseLike<unknown>).then(decided, () => decided(500));
      else decided(v);
    } catch {
      decided(500);
    }
  };
}
