// wasmsocket/deno: servers and clients over Deno.listen / Deno.connect, through their streams.
import { Connection } from "./protocol/connection.js";
import { overStreams } from "./adapters/streams.js";
import { acceptOn, type OnConnection, type RuntimeServerOptions } from "./adapters/runtime-server.js";
import { nodeDeflateEngine } from "./adapters/node/zlib-engine.js";
import { deflateForClient, type DeflateOptions } from "./protocol/extensions/permessage-deflate.js";
import type { WebSocketConnection } from "./adapters/socket.js";
import type { ConnectionOptions } from "./protocol/connection.js";
import type { ClientRequestOptions } from "./protocol/handshake/client.js";

export * from "./index.js";
export { WebSocketConnection } from "./adapters/socket.js";

interface DenoConn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  setNoDelay?(on: boolean): void;
}
interface DenoListener extends AsyncIterable<DenoConn> {
  addr: { hostname: string; port: number };
  close(): void;
}
declare const Deno: {
  listen(o: { port: number; hostname?: string }): DenoListener;
  connect(o: { port: number; hostname: string }): Promise<DenoConn>;
};

/** Listens on TCP and calls `onConnection` for every accepted WebSocket. */
export function serve(options: RuntimeServerOptions, onConnection: OnConnection): { addr: { hostname: string; port: number }; close(): void } {
  const listener = Deno.listen({ port: options.port ?? 0, hostname: options.hostname ?? "127.0.0.1" });
  (async () => {
    for await (const tcp of listener) {
      tcp.setNoDelay?.(true);
      const conn = Connection.server(options);
      acceptOn(overStreams(tcp, conn), conn, options, nodeDeflateEngine, onConnection);
    }
  })().catch(() => {});
  return { addr: listener.addr, close: () => listener.close() };
}

/** Connects to a ws:// URL; listen for 'open'. */
export function connect(url: string, options: ConnectionOptions & ClientRequestOptions & { perMessageDeflate?: boolean | DeflateOptions } = {}): WebSocketConnection {
  const u = new URL(url);
  if (u.protocol !== "ws:") throw new TypeError("wasmsocket/deno: only ws:// URLs (use Deno.connectTls for wss)");
  const pmd = options.perMessageDeflate ?? true;
  const conn = Connection.client(u, { negotiator: pmd ? deflateForClient(pmd === true ? {} : pmd, nodeDeflateEngine) : undefined, ...options });
  let ws: WebSocketConnection | undefined;
  const pending: Promise<DenoConn> = Deno.connect({ hostname: u.hostname, port: Number(u.port) || 80 });
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  // Bytes flow once the TCP connection exists; the socket object exists at once.
  const inbound = new TransformStream<Uint8Array, Uint8Array>();
  ws = overStreams({ readable: inbound.readable, writable }, conn);
  pending.then(
    (tcp) => {
      tcp.setNoDelay?.(true);
      tcp.readable.pipeTo(inbound.writable).catch(() => {});
      readable.pipeTo(tcp.writable).catch(() => {});
      ws!.driver.pump();
    },
    () => inbound.writable.abort().catch(() => {}),
  );
  return ws;
}
export { nodeDeflateEngine as deflateEngine } from "./adapters/node/zlib-engine.js";
