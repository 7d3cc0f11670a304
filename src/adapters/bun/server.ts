// wasmsocket/bun's serve(): with a `fetch` handler, HTTP and WebSocket on one port (the runtime's
// node:http, ../http-server.ts); without one, WebSocket only over Bun.listen (TCP or TLS).
import { acceptOn, type OnConnection } from "../runtime-server.js";
import { defaultDeflateEngine } from "../deflate.js";
import { serveHttp } from "../http-server.js";
import { OpenSockets, pem, serverOf, type ServeOptions, type Server } from "../serve.js";
import { WebSocketConnection } from "../socket.js";
import { UpgradeGate } from "../upgrade-gate.js";
import { bunConnection } from "./connection.js";
import { bun, BunTransport, handlers } from "./transport.js";

/** Calls `onConnection` for every accepted WebSocket; `fetch` answers other requests on the same port. */
export function serve(options: ServeOptions, onConnection: OnConnection): Server {
  const fetch = options.fetch;
  // Bun's node:http takes the option and binds without SO_REUSEPORT (Bun 1.4.5): a second process
  // would fail with EADDRINUSE, so say why now.
  if (fetch && options.reusePort) throw new TypeError("serve(): reusePort needs the WebSocket-only door on Bun (no fetch handler): Bun's node:http does not set SO_REUSEPORT");
  return fetch ? serveHttp({ ...options, fetch }, onConnection, bunConnection) : listen(options, onConnection);
}

function listen(options: ServeOptions, onConnection: OnConnection): Server {
  const open = new OpenSockets(onConnection, options);
  const socket = handlers((s) => {
    s.setNoDelay?.(true);
    const conn = bunConnection(options);
    const transport = new BunTransport(s);
    const ws = new WebSocketConnection(conn, transport, options);
    transport.ws = ws;
    transport.gate = new UpgradeGate(ws, options);
    acceptOn(ws, conn, options, defaultDeflateEngine, open.accepted);
    ws.driver.requestFlush(); // starts the handshake timeout before the first byte
  });
  // TLS: with a `handshake` handler Bun calls `open` when the TCP connection is accepted, so the
  // handshake timeout runs from there; without one, only once the TLS handshake is over (or the
  // peer gone): a peer that never sent a ClientHello, or half of one, held its socket for good.
  // A failed handshake closes the socket.
  if (options.tls) socket.handshake = (s, success) => void (success || s.data?.destroy());
  const server = bun().listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    tls: options.tls ? { cert: pem(options.tls.cert), key: pem(options.tls.key) } : undefined,
    ...(options.reusePort ? { reusePort: true } : {}),
    allowHalfOpen: true, // a peer's FIN: what is queued still goes out (handlers' end)
    socket,
  });
  const addr = { hostname: server.hostname, port: server.port };
  options.onListen?.(addr);
  return serverOf(addr, Promise.resolve(addr), open, async () => server.stop(false));
}
