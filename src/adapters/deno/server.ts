// wasmsocket/deno's serve(): WebSocket servers over Deno.listen.
import { acceptOn, type OnConnection, type RuntimeServerOptions } from "../runtime-server.js";
import { defaultDeflateEngine } from "../deflate.js";
import { denoConnection } from "./connection.js";
import { deno, overConn } from "./transport.js";

/** Listens on TCP and calls `onConnection` for every accepted WebSocket. */
export function serve(options: RuntimeServerOptions, onConnection: OnConnection): { addr: { hostname: string; port: number }; close(): void } {
  const listener = deno().listen({ port: options.port ?? 0, hostname: options.hostname ?? "127.0.0.1" });
  (async () => {
    for await (const tcp of listener) {
      tcp.setNoDelay?.(true);
      const conn = denoConnection(options);
      acceptOn(overConn(tcp, conn), conn, options, defaultDeflateEngine, onConnection);
    }
  })().catch(() => {});
  return { addr: listener.addr, close: () => listener.close() };
}
