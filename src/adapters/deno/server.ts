// wasmsocket/deno's serve(): with a `fetch` handler, HTTP and WebSocket on one port (the runtime's
// node:http, ../http-server.ts); without one, WebSocket only over Deno.listen / Deno.listenTls.
import { acceptOn, type OnConnection } from "../runtime-server.js";
import { defaultDeflateEngine } from "../deflate.js";
import { serveHttp } from "../http-server.js";
import { OpenSockets, pem, serverOf, type ServeOptions, type Server } from "../serve.js";
import { UpgradeGate } from "../upgrade-gate.js";
import { denoConnection } from "./connection.js";
import { deno, DenoTransport, type DenoConn } from "./transport.js";

/** Calls `onConnection` for every accepted WebSocket; `fetch` answers other requests on the same port. */
export function serve(options: ServeOptions, onConnection: OnConnection): Server {
  const fetch = options.fetch;
  return fetch ? serveHttp({ ...options, fetch }, onConnection, denoConnection) : listen(options, onConnection);
}

function listen(options: ServeOptions, onConnection: OnConnection): Server {
  const at = { port: options.port ?? 0, hostname: options.hostname ?? "127.0.0.1", ...(options.reusePort ? { reusePort: true } : {}) };
  const listener = options.tls ? deno().listenTls({ ...at, cert: pem(options.tls.cert), key: pem(options.tls.key) }) : deno().listen(at);
  const open = new OpenSockets(onConnection, options);
  let stopped = false;
  (async () => {
    for (;;) {
      let tcp: DenoConn;
      try {
        tcp = await listener.accept();
      } catch (e) {
        // One connection's failure is not the listener's: a peer that resets its connection while
        // it waits to be accepted makes accept() throw (NotConnected). Ending the loop there (as a
        // for-await over the listener does) stopped the port accepting for good, and a process
        // serving nothing else exited. Only a closed listener ends it; other errors (EMFILE) are
        // retried after a pause rather than in a busy loop.
        if (stopped || isListenerGone(e)) return;
        if (!isPeerGone(e)) await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
        continue;
      }
      try {
        tcp.setNoDelay?.(true); // throws if the peer has reset the connection already
        const conn = denoConnection(options);
        const transport = new DenoTransport(tcp, conn, options);
        const ws = transport.ws;
        transport.gate = new UpgradeGate(ws, options);
        acceptOn(ws, conn, options, defaultDeflateEngine, open.accepted);
        ws.driver.requestFlush(); // starts the handshake timeout before the first byte
      } catch {
        try {
          tcp.close();
        } catch {
          // closed already
        }
      }
    }
  })();
  const addr = { hostname: listener.addr.hostname, port: listener.addr.port };
  options.onListen?.(addr);
  return serverOf(addr, Promise.resolve(addr), open, async () => ((stopped = true), listener.close()));
}

/** How long accepting pauses after an error that is not one connection's (e.g. out of file descriptors). */
const ACCEPT_RETRY_MS = 50;
const errorName = (e: unknown): string | undefined => (e as { name?: string } | null)?.name;
/** The listener was closed (Deno's own async iterator ends on these). */
const isListenerGone = (e: unknown): boolean => errorName(e) === "BadResource" || errorName(e) === "Interrupted";
/** The connection being accepted went away before it was. */
const isPeerGone = (e: unknown): boolean => ["NotConnected", "ConnectionReset", "ConnectionAborted"].includes(errorName(e) ?? "");
