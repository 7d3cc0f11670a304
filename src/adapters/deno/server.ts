// wasmsocket/deno's serve(): with a `fetch` handler, HTTP and WebSocket on one port (the runtime's
// node:http, ../http-server.ts); without one, WebSocket only over Deno.listen / Deno.listenTls.
import { acceptOn, type OnConnection } from "../runtime-server.js";
import { defaultDeflateEngine } from "../deflate.js";
import { serveHttp } from "../http-server.js";
import { OpenSockets, pem, serverOf, type ServeOptions, type Server } from "../serve.js";
import { UpgradeGate } from "../upgrade-gate.js";
import { denoConnection } from "./connection.js";
import { deno, DenoTransport } from "./transport.js";

/** Calls `onConnection` for every accepted WebSocket; `fetch` answers other requests on the same port. */
export function serve(options: ServeOptions, onConnection: OnConnection): Server {
  const fetch = options.fetch;
  return fetch ? serveHttp({ ...options, fetch }, onConnection, denoConnection) : listen(options, onConnection);
}

function listen(options: ServeOptions, onConnection: OnConnection): Server {
  const at = { port: options.port ?? 0, hostname: options.hostname ?? "127.0.0.1", ...(options.reusePort ? { reusePort: true } : {}) };
  const listener = options.tls ? deno().listenTls({ ...at, cert: pem(options.tls.cert), key: pem(options.tls.key) }) : deno().listen(at);
  const open = new OpenSockets(onConnection, options);
  (async () => {
    for await (const tcp of listener) {
      tcp.setNoDelay?.(true);
      const conn = denoConnection(options);
      const transport = new DenoTransport(tcp, conn, options);
      const ws = transport.ws;
      transport.gate = new UpgradeGate(ws, options);
      acceptOn(ws, conn, options, defaultDeflateEngine, open.accepted);
      ws.driver.requestFlush(); // starts the handshake timeout before the first byte
    }
  })().catch(() => {});
  const addr = { hostname: listener.addr.hostname, port: listener.addr.port };
  options.onListen?.(addr);
  return serverOf(addr, Promise.resolve(addr), open, async () => listener.close());
}
