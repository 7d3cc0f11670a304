// wasmsocket/bun's connect(): WebSocket clients over Bun.connect (ws://, and wss:// with its `tls`).
import type { ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import type { Transport } from "../transport.js";
import { clientNegotiator, type PerMessageDeflateOptions } from "../deflate.js";
import { WebSocketConnection } from "../socket.js";
import { bunConnection } from "./connection.js";
import { bun, BunTransport, handlers } from "./transport.js";

export interface ClientOptions extends ConnectionOptions, ClientRequestOptions {
  /** Offer permessage-deflate (default true), with options in ws's names or ours. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** wss://: certificates (PEM) to trust besides the system's, e.g. a test server's self-signed one. */
  ca?: string | Uint8Array | (string | Uint8Array)[];
}

const pem = (c: string | Uint8Array): string => (typeof c === "string" ? c : new TextDecoder().decode(c));

/** Connects to a ws:// or wss:// URL; listen for 'open'. */
export function connect(url: string, options: ClientOptions = {}): WebSocketConnection {
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new SyntaxError(`wasmsocket/bun: not a WebSocket URL: ${url}`);
  const secure = u.protocol === "wss:";
  const conn = bunConnection({ negotiator: clientNegotiator(options.perMessageDeflate ?? true), ...options }, u);
  let transport: BunTransport | undefined;
  const proxy: Transport = {
    write: (chunks) => transport?.write(chunks) ?? true,
    pending: () => transport?.pending() ?? 0,
    pauseReading: (p) => transport?.pauseReading(p),
    end: () => transport?.end(),
    destroy: () => transport?.destroy(),
  };
  const ws = new WebSocketConnection(conn, proxy);
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const ca = options.ca === undefined ? undefined : (Array.isArray(options.ca) ? options.ca : [options.ca]).map(pem);
  bun().connect({
    hostname,
    port: Number(u.port) || (secure ? 443 : 80),
    tls: secure ? { ca, serverName: hostname } : undefined,
    socket: handlers(
      (s) => {
        transport = new BunTransport(s);
        s.data = { ws, transport };
        if (!secure) ws.driver.pump();
      },
      secure
        ? (s, authorizationError) => {
            if (!authorizationError) return ws.driver.pump(); // the upgrade request, now that TLS is up
            // A certificate we do not trust: 'error' (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE), then 'close' 1006.
            ws.transportError(authorizationError);
            s.end();
          }
        : undefined,
    ),
  }).catch((err) => {
    // refused, DNS...: 'error' (e.g. ECONNREFUSED), then 'close' 1006
    ws.transportError(err);
    ws.driver.transportClosed();
  });
  return ws;
}
