// wasmsocket/deno's connect(): WebSocket clients over Deno.connect (ws://) and Deno.connectTls (wss://).
import type { ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import { clientNegotiator, type PerMessageDeflateOptions } from "../deflate.js";
import type { WebSocketConnection } from "../socket.js";
import { denoConnection } from "./connection.js";
import { deno, overConn } from "./transport.js";

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
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new SyntaxError(`wasmsocket/deno: not a WebSocket URL: ${url}`);
  const secure = u.protocol === "wss:";
  const conn = denoConnection({ negotiator: clientNegotiator(options.perMessageDeflate ?? true), ...options }, u);
  const to = { hostname: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(u.port) || (secure ? 443 : 80) };
  const ca = options.ca === undefined ? undefined : (Array.isArray(options.ca) ? options.ca : [options.ca]).map(pem);
  const connecting = secure ? deno().connectTls({ ...to, caCerts: ca }) : deno().connect(to).then((t) => (t.setNoDelay?.(true), t));
  const ws = overConn(connecting, conn);
  ws.driver.pump(); // queues the upgrade request until the connection is up
  return ws;
}
