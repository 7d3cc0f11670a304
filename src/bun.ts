// wasmsocket/bun: servers and clients over Bun.listen / Bun.connect socket handlers.
import { Connection } from "./protocol/connection.js";
import { bufferHost } from "./adapters/buffer-host.js";
import { WebSocketConnection } from "./adapters/socket.js";
import type { Transport } from "./adapters/driver.js";
import { acceptOn, type OnConnection, type RuntimeServerOptions } from "./adapters/runtime-server.js";
import { nodeDeflateEngine } from "./adapters/node/zlib-engine.js";
import { deflateForClient, type DeflateOptions } from "./protocol/extensions/permessage-deflate.js";
import { concatBytes, copyBytes } from "./core/bytes.js";
import type { ConnectionOptions } from "./protocol/connection.js";
import type { ClientRequestOptions } from "./protocol/handshake/client.js";

export * from "./index.js";
export { WebSocketConnection } from "./adapters/socket.js";

interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(on: boolean): void;
  data: { ws?: WebSocketConnection; transport?: BunTransport };
}
interface SocketHandlers {
  open(s: BunSocket): void;
  data(s: BunSocket, d: Uint8Array): void;
  drain(s: BunSocket): void;
  close(s: BunSocket): void;
  error?(s: BunSocket, e: Error): void;
}
declare const Bun: {
  listen(o: { hostname: string; port: number; socket: SocketHandlers }): { port: number; hostname: string; stop(closeActive?: boolean): void };
  connect(o: { hostname: string; port: number; socket: SocketHandlers }): Promise<BunSocket>;
};

/** Chunks this large are written on their own: a second syscall costs less than copying them. */
const WRITE_ALONE = 64 * 1024;

/** @internal (exported for tests) Bun's write may take only part of the bytes: the rest waits here for 'drain'. */
export class BunTransport implements Transport {
  /** Bun's write() sends synchronously and keeps nothing; what it does not take is copied here. */
  consumed(): boolean {
    return true;
  }
  private backlog: Uint8Array | undefined;
  constructor(private readonly s: BunSocket) {}
  write(chunks: Uint8Array[]): boolean {
    const all = this.backlog ? [this.backlog, ...chunks] : chunks;
    this.backlog = undefined;
    // Small frames were coalesced by the connection; only payloads over 64 KiB arrive apart.
    let start = 0;
    for (let i = 0; i <= all.length; i++) {
      if (i < all.length && all[i]!.length < WRITE_ALONE) continue;
      // Write the run of small chunks before i, then chunk i alone.
      const runs = i > start ? [concatBytes(all.slice(start, i))] : [];
      if (i < all.length) runs.push(all[i]!);
      for (let r = 0; r < runs.length; r++) {
        const bytes = runs[r]!;
        const n = this.s.write(bytes);
        if (n < bytes.length) {
          this.backlog = copyBytes([bytes.subarray(Math.max(0, n)), ...runs.slice(r + 1), ...all.slice(i + 1)]);
          return false;
        }
      }
      start = i + 1;
    }
    return true;
  }
  /** Writes the backlog; true when it is all out. */
  drain(): boolean {
    if (!this.backlog) return true;
    const b = this.backlog;
    this.backlog = undefined;
    return this.write([b]);
  }
  pending(): number {
    return this.backlog?.length ?? 0;
  }
  /** Bun sockets stop and restart reading with pause()/resume() where the version has them. */
  pauseReading(paused: boolean): void {
    const s = this.s as BunSocket & { pause?(): void; resume?(): void };
    if (paused) s.pause?.();
    else s.resume?.();
  }
  end(): void {
    this.s.end();
  }
  destroy(): void {
    (this.s.terminate ?? this.s.end).call(this.s);
  }
}

function handlers(onOpen: (s: BunSocket) => void): SocketHandlers {
  return {
    open: onOpen,
    data: (s, d) => s.data.ws?.driver.receive(d),
    drain: (s) => {
      if (s.data.transport?.drain()) s.data.ws?.driver.drained();
    },
    close: (s) => s.data.ws?.driver.transportClosed(),
    error: () => {},
  };
}

/** Listens on TCP and calls `onConnection` for every accepted WebSocket. */
export function serve(options: RuntimeServerOptions, onConnection: OnConnection): { port: number; hostname: string; close(): void } {
  const server = Bun.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    socket: handlers((s) => {
      s.setNoDelay?.(true);
      const conn = Connection.server({ ...bufferHost, ...options });
      const transport = new BunTransport(s);
      const ws = new WebSocketConnection(conn, transport);
      s.data = { ws, transport };
      acceptOn(ws, conn, options, nodeDeflateEngine, onConnection);
    }),
  });
  return { port: server.port, hostname: server.hostname, close: () => server.stop(true) };
}

/** Connects to a ws:// URL; listen for 'open'. */
export function connect(url: string, options: ConnectionOptions & ClientRequestOptions & { perMessageDeflate?: boolean | DeflateOptions } = {}): WebSocketConnection {
  const u = new URL(url);
  if (u.protocol !== "ws:") throw new TypeError("wasmsocket/bun: only ws:// URLs");
  const pmd = options.perMessageDeflate ?? true;
  const conn = Connection.client(u, { ...bufferHost, negotiator: pmd ? deflateForClient(pmd === true ? {} : pmd, nodeDeflateEngine) : undefined, ...options });
  let transport: BunTransport | undefined;
  const proxy: Transport = {
    write: (chunks) => transport?.write(chunks) ?? true,
    pending: () => transport?.pending() ?? 0,
    pauseReading: (p) => transport?.pauseReading(p),
    end: () => transport?.end(),
    destroy: () => transport?.destroy(),
  };
  const ws = new WebSocketConnection(conn, proxy);
  Bun.connect({
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
export { nodeDeflateEngine as deflateEngine } from "./adapters/node/zlib-engine.js";
