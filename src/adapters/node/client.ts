// connect(): a client WebSocket over node:net (ws://) or node:tls (wss://).
import * as net from "node:net";
import * as tls from "node:tls";
import { Connection, type ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import { CONNECTING, WebSocket } from "./websocket.js";
import { binaryAsBuffer } from "./buffers.js";
import { nodeDeflateEngine } from "./zlib-engine.js";
import { deflateForClient, type DeflateOptions } from "../../protocol/extensions/permessage-deflate.js";

export interface ClientOptions extends ConnectionOptions, ClientRequestOptions {
  /** TLS options for wss:// (ca, rejectUnauthorized, servername, ...). */
  tls?: tls.ConnectionOptions;
  /** Bytes queued toward a server above which it must keep taking bytes (default 64 MiB; README, Reliability). */
  maxPendingBytes?: number;
  /** How long the server may take no bytes while over maxPendingBytes, or while we close (default 30 s). */
  stallTimeout?: number;
  /** Offer permessage-deflate (default true, as in ws and browsers). */
  perMessageDeflate?: boolean | DeflateOptions;
}


/** Opens a WebSocket to `url`; listen for 'open' (or 'error' then 'close'). */
export function connect(url: string | URL, options: ClientOptions = {}): WebSocket {
  const u = typeof url === "string" ? new URL(url) : url;
  const pmd = options.perMessageDeflate ?? true;
  const negotiator = pmd ? deflateForClient(pmd === true ? {} : pmd, nodeDeflateEngine) : undefined;
  const conn = Connection.client(u, { createBinary: binaryAsBuffer, negotiator, ...options });
  const secure = u.protocol === "wss:";
  const port = Number(u.port) || (secure ? 443 : 80);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const socket = secure
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...options.tls })
    : net.connect({ host, port, noDelay: true });
  const ws = new WebSocket(socket, conn, options);
  // A failure while connecting (refused, DNS, TLS) reaches 'error' with the socket's own error
  // (err.code) before 'close' 1006, as in ws: the socket emits 'error' before its 'close'.
  socket.once("error", (err) => {
    if (ws.readyState === CONNECTING && ws.hasErrorListener()) ws.emit("error", err);
  });
  // A server that hangs up before answering the upgrade: ws's "socket hang up" (ECONNRESET).
  socket.once("end", () => {
    if (ws.readyState === CONNECTING && ws.hasErrorListener()) ws.emit("error", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
  });
  socket.once(secure ? "secureConnect" : "connect", () => ws.driver.pump());
  return ws;
}
