// wasmsocket/deno's connect(): WebSocket clients over Deno.connect.
import { deflateForClient, type DeflateOptions } from "../../protocol/extensions/permessage-deflate.js";
import type { ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import { defaultDeflateEngine } from "../deflate.js";
import type { WebSocketConnection } from "../socket.js";
import { denoConnection } from "./connection.js";
import { deno, overConn } from "./transport.js";

/** Connects to a ws:// URL; listen for 'open'. */
export function connect(url: string, options: ConnectionOptions & ClientRequestOptions & { perMessageDeflate?: boolean | DeflateOptions } = {}): WebSocketConnection {
  const u = new URL(url);
  if (u.protocol !== "ws:") throw new TypeError("wasmsocket/deno: only ws:// URLs (use Deno.connectTls for wss)");
  const pmd = options.perMessageDeflate ?? true;
  const conn = denoConnection({ negotiator: pmd ? deflateForClient(pmd === true ? {} : pmd, defaultDeflateEngine) : undefined, ...options }, u);
  const tcp = deno().connect({ hostname: u.hostname, port: Number(u.port) || 80 }).then((t) => (t.setNoDelay?.(true), t));
  const ws = overConn(tcp, conn);
  ws.driver.pump(); // queues the upgrade request until the connection is up
  return ws;
}
