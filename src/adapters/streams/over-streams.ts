// overStreams(): a connection over a WHATWG stream pair (transport.ts), in either role.
import type { Connection } from "../../protocol/connection.js";
import { pakoEngine } from "../../protocol/extensions/pako-engine.js";
import { acceptOn, type UpgradeOptions } from "../runtime-server.js";
import { WebSocketConnection } from "../socket.js";
import { StreamTransport, type StreamPair } from "./transport.js";

export type { StreamPair } from "./transport.js";

/**
 * Runs `conn` over `pair` and returns its ws-style socket. The role and the handshake are the
 * connection's: `Connection.client(url, …)` sends the upgrade request (on the next microtask, so
 * listeners added now see 'open'); `Connection.server(…)` answers the client's request as
 * `options` say (the same `verifyClient`, `handleProtocols` and `perMessageDeflate` as serve() in
 * wasmsocket/deno and wasmsocket/bun; by default every request is accepted, without extensions);
 * `Connection.open(role, …)` skips the handshake, and 'open' fires on the next microtask.
 * Deflate runs on `perMessageDeflate.engine`, else pako. The readable ending or erroring is the
 * transport closing; the socket ends the writable after the close handshake, and aborts it on
 * terminate().
 */
export function overStreams(pair: StreamPair, conn: Connection, options: UpgradeOptions = {}): WebSocketConnection {
  const transport = new StreamTransport(pair);
  const ws = new WebSocketConnection(conn, transport);
  if (conn.role === "server" && conn.state === "connecting") acceptOn(ws, conn, options, pakoEngine, () => {});
  // The client's upgrade request, or an already open connection's 'open', after the caller's listeners are on.
  ws.driver.requestFlush();
  transport.start(ws.driver);
  return ws;
}
