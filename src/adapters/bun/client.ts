// wasmsocket/bun's connect(): WebSocket clients over Bun.connect (ws://, and wss:// with its `tls`).
import type { Transport } from "../transport.js";
import { WebSocketConnection } from "../socket.js";
import { bunConnection } from "./connection.js";
import { bun, BunTransport, handlers } from "./transport.js";
import { clientTarget, type ClientOptions } from "../runtime-client.js";

export type { ClientOptions } from "../runtime-client.js";

/** Connects to a ws:// or wss:// URL; listen for 'open'. */
export function connect(url: string, options: ClientOptions = {}): WebSocketConnection {
  const { url: u, secure, hostname, port, ca, connection } = clientTarget("wasmsocket/bun", url, options);
  const conn = bunConnection(connection, u);
  let transport: BunTransport | undefined;
  /** Destroyed (terminate()) before the socket opened: it is closed as it opens, and nothing written. */
  let destroyed = false;
  const proxy: Transport = {
    write: (chunks) => transport?.write(chunks) ?? true,
    pending: () => transport?.pending() ?? 0,
    // Bun's write() keeps nothing: the connection may reuse its outgoing buffers (as a server's does).
    consumed: () => transport?.consumed() ?? false,
    pauseReading: (p) => transport?.pauseReading(p),
    // A client reads on while its own sends wait (see Transport.readsWhileCongested).
    readsWhileCongested: true,
    end: () => transport?.end(),
    destroy: () => (transport ? transport.destroy() : (destroyed = true)),
  };
  const ws = new WebSocketConnection(conn, proxy, options);
  bun().connect({
    hostname,
    port,
    tls: secure ? { ca, serverName: hostname } : undefined,
    allowHalfOpen: true, // a server's FIN: what is queued still goes out (handlers' end)
    socket: handlers(
      (s) => {
        transport = new BunTransport(s);
        transport.ws = ws;
        // Terminated while connecting: closed at once, before anything is written ('close' then comes from the socket's close).
        if (destroyed) return transport.destroy();
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
