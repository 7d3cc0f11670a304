// The server side of a connection the core parses itself (Connection.server(): Deno's and Bun's
// serve(), overStreams()): the upgrade policy (upgrade-policy.ts, the same as the Node server's)
// decides, and the connection answers with conn.accept() or conn.reject().
import type { Connection, ConnectionOptions } from "../protocol/connection.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";
import type { DeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import type { DeflateEngine } from "../protocol/extensions/deflate-engine.js";
import type { WebSocketConnection } from "./socket.js";
import type { DriverLimits } from "./progress-watch.js";
import { decideUpgrade, requestView, type ResponseHeaders, type UpgradeDecision, type VerifyClient } from "./upgrade-policy.js";
import { rethrowLater } from "./events.js";

/** How a server answers an upgrade request: serve() in wasmsocket/deno and wasmsocket/bun, and overStreams() in the server role. */
export interface UpgradeOptions {
  /**
   * Decides whether to accept, as in ws: `(request)` answering a boolean, a status to refuse with,
   * or a promise of either; or `(request, cb)` calling `cb(ok, status?, message?, headers?)`. Only
   * `true` accepts; anything else refuses (401 unless a status from 300 to 599 is given); a
   * verifier that throws refuses with 500. Default: accept every request.
   */
  verifyClient?: VerifyClient<UpgradeRequest>;
  /** Picks a subprotocol from the offered ones (default: the first, as in ws); false for none. */
  handleProtocols?: (protocols: string[], request: UpgradeRequest) => string | false | undefined;
  /** Negotiate permessage-deflate when clients offer it (default false); an offer that cannot be taken is declined. */
  perMessageDeflate?: boolean | DeflateOptions;
}

export interface RuntimeServerOptions extends ConnectionOptions, UpgradeOptions, DriverLimits {
  port?: number;
  hostname?: string;
}

export type OnConnection = (ws: WebSocketConnection, request: UpgradeRequest) => void;

/** Header values as the core's reject() takes them: a list becomes one comma-separated line. */
function headerLines(headers: ResponseHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

/** Answers the connection's pending request as decided. Never throws: what cannot be sent becomes a 500. */
function answer(conn: Connection, decision: Exclude<UpgradeDecision, { type: "gone" }>): void {
  try {
    switch (decision.type) {
      case "accept":
        // The core refuses a subprotocol that was not offered (TypeError): a 500 below.
        return conn.accept({ protocol: decision.protocol || undefined, extensions: decision.deflate?.extensions, codec: decision.deflate?.codec });
      case "invalid":
      case "refused":
        return conn.reject(decision.status, headerLines(decision.headers), decision.message);
      case "failed":
        return conn.reject(500);
    }
  } catch {
    if (decision.type === "accept") decision.deflate?.codec.close?.();
    if (conn.state === "connecting") conn.reject(500);
  }
}

/** Wires the server-side handshake of a freshly accepted transport. */
export function acceptOn(ws: WebSocketConnection, conn: Connection, options: UpgradeOptions, engine: DeflateEngine, onConnection: OnConnection): void {
  const { verifyClient, handleProtocols, perMessageDeflate } = options;
  ws.onRequest = (request) => {
    // One request per connection: the closure (and what it holds) is not kept for the connection's life.
    ws.onRequest = undefined;
    decideUpgrade(
      requestView(request),
      {
        verifyClient,
        verifyInfo: () => request,
        handleProtocols: handleProtocols && ((offered) => handleProtocols([...offered], request)),
        deflate: perMessageDeflate === true ? {} : perMessageDeflate || undefined,
        engine,
        refuseUnacceptableDeflate: false,
        // The handshake may time out, or the client go, while an asynchronous verifier decides.
        stillWanted: () => (conn.state !== "connecting" || conn.request !== request ? "gone" : undefined),
      },
      (decision) => {
        if (decision.type === "gone") return;
        answer(conn, decision);
        ws.driver.requestFlush();
        if (conn.state !== "open") return; // refused
        try {
          onConnection(ws, request);
        } catch (e) {
          // The application's own handler: reported as an uncaught exception, after the 101 went out.
          rethrowLater(e);
        }
      },
    );
  };
}
