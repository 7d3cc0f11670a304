// wasmsocket/bun's connect(): WebSocket clients over Bun.connect.
import { deflateForClient, type DeflateOptions } from "../../protocol/extensions/permessage-deflate.js";
import type { ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import type { Transport } from "../driver.js";
import { defaultDeflateEngine } from "../deflate.js";
import { WebSocketConnection } from "../socket.js";
import { bunConnection } from "./connection.js";
import { bun, BunTransport, handlers } from "./transport.js";

/** Connects to a ws:// URL; listen for 'open'. */
export function connect(url: string, options: ConnectionOptions & ClientRequestOptions & { perMessageDeflate?: boolean | DeflateOptions } = {}): WebSocketConnection {
  const u = new URL(url);
  if (u.protocol !== "ws:") throw new TypeError("wasmsocket/bun: only ws:// URLs");
  const pmd = options.perMessageDeflate ?? true;
  const conn = bunConnection({ negotiator: pmd ? deflateForClient(pmd === true ? {} : pmd, defaultDeflateEngine) : undefined, ...options }, u);
  let transport: BunTransport | undefined;
  const proxy: Transport = {
    write: (chunks) => transport?.write(chunks) ?? true,
    pending: () => transport?.pending() ?? 0,
    pauseReading: (p) => transport?.pauseReading(p),
    end: () => transport?.end(),
    destroy: () => transport?.destroy(),
  };
  const ws = new WebSocketConnection(conn, proxy);
  bun().connect({
    hostname: u.hostname,
    port: Number(u.port) || 80,
    socket: handlers((s) => {
      transport = new BunTransport(s);
      s.data = { ws, transport };
      ws.driver.pump();
    }),
  }).catch((err) => {
    // refused, DNS...: 'error' (e.g. ECONNREFUSED), then 'close' 1006
    ws.transportError(err);
    ws.driver.transportClosed();
  });
  return ws;
}
