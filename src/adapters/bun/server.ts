// wasmsocket/bun's serve(): WebSocket servers over Bun.listen.
import { acceptOn, type OnConnection, type RuntimeServerOptions } from "../runtime-server.js";
import { defaultDeflateEngine } from "../deflate.js";
import { WebSocketConnection } from "../socket.js";
import { bunConnection } from "./connection.js";
import { bun, BunTransport, handlers } from "./transport.js";

/** Listens on TCP and calls `onConnection` for every accepted WebSocket. */
export function serve(options: RuntimeServerOptions, onConnection: OnConnection): { port: number; hostname: string; close(): void } {
  const server = bun().listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    socket: handlers((s) => {
      s.setNoDelay?.(true);
      const conn = bunConnection(options);
      const transport = new BunTransport(s);
      const ws = new WebSocketConnection(conn, transport);
      s.data = { ws, transport };
      acceptOn(ws, conn, options, defaultDeflateEngine, onConnection);
    }),
  });
  return { port: server.port, hostname: server.hostname, close: () => server.stop(true) };
}
