// wasmsocket/deno: servers and clients over Deno.listen / Deno.connect, through their streams.
import { Connection } from "./protocol/connection.js";
import { bufferHost } from "./adapters/buffer-host.js";
import { acceptOn, type OnConnection, type RuntimeServerOptions } from "./adapters/runtime-server.js";
import { nodeDeflateEngine } from "./adapters/node/zlib-engine.js";
import { deflateForClient, type DeflateOptions } from "./protocol/extensions/permessage-deflate.js";
import { WebSocketConnection } from "./adapters/socket.js";
import type { Transport } from "./adapters/driver.js";
import type { ConnectionOptions } from "./protocol/connection.js";
import type { ClientRequestOptions } from "./protocol/handshake/client.js";

export * from "./index.js";
export { WebSocketConnection } from "./adapters/socket.js";

interface DenoConn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  closeWrite?(): Promise<void>;
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

/** Read buffers grow while reads fill them and shrink after a run of small reads: an idle connection holds 4 KiB, a busy one up to 64. */
const READ_MIN = 4 * 1024;
const READ_MAX = 64 * 1024;
const SMALL_READS_BEFORE_SHRINK = 16;
/** Queued bytes above which the transport reports congestion. */
const HIGH_WATER = 256 * 1024;

/**
 * Runs `conn` over a Deno.Conn with its own read()/write(): reads land in one reused buffer (the
 * connection copies what it keeps), and writes are queued, since Deno's write() may be partial.
 * A client passes the pending Deno.connect(): writes wait for it, and its failure ('error', e.g.
 * ECONNREFUSED) closes the socket.
 */
function overConn(connecting: DenoConn | Promise<DenoConn>, conn: Connection): WebSocketConnection {
  let tcp: DenoConn | undefined;
  const ready = Promise.resolve(connecting).then((t) => (tcp = t));
  const queue: Uint8Array[] = [];
  let queued = 0;
  let writing = false;
  let ending = false;
  let closed = false;
  let resumeReading: (() => void) | undefined;
  let paused = false;
  const closeAll = (err?: unknown) => {
    if (closed) return;
    closed = true;
    try {
      tcp?.close();
    } catch {
      // already closed
    }
    if (err !== undefined) ws.transportError(err);
    ws.driver.transportClosed();
  };
  const pumpWrites = async () => {
    if (writing) return;
    writing = true;
    try {
      const t = tcp ?? (await ready);
      while (queue.length) {
        const chunk = queue.shift()!;
        for (let off = 0; off < chunk.length; ) off += await t.write(off ? chunk.subarray(off) : chunk);
        queued -= chunk.length;
      }
      if (ending) closeAll();
      else ws.driver.drained();
    } catch (e) {
      closeAll(e);
    } finally {
      writing = false;
    }
  };
  const transport: Transport = {
    write(chunks) {
      // Frames up to 64 KiB arrive coalesced in one chunk; larger payloads are written on their own
      // rather than copied into one buffer.
      for (const c of chunks) {
        queue.push(c);
        queued += c.length;
      }
      void pumpWrites();
      return queued < HIGH_WATER;
    },
    pending: () => queued,
    end() {
      ending = true;
      if (!writing && !queue.length) closeAll();
    },
    destroy: closeAll,
    pauseReading(p) {
      paused = p;
      if (!p) resumeReading?.();
    },
  };
  const ws = new WebSocketConnection(conn, transport);
  (async () => {
    let buf = new Uint8Array(READ_MIN);
    let smallReads = 0;
    let failure: unknown;
    try {
      const t = await ready;
      for (;;) {
        while (paused) await new Promise<void>((r) => (resumeReading = r));
        const n = await t.read(buf);
        if (n === null) break;
        ws.driver.receive(buf.subarray(0, n));
        if (n === buf.length && buf.length < READ_MAX) {
          buf = new Uint8Array(buf.length * 2);
          smallReads = 0;
        } else if (n < buf.length / 4 && buf.length > READ_MIN && ++smallReads >= SMALL_READS_BEFORE_SHRINK) {
          buf = new Uint8Array(buf.length / 2);
          smallReads = 0;
        }
      }
    } catch (e) {
      // a reset or a failed Deno.connect: reported below as the transport closing
      failure = e;
    }
    closeAll(failure);
  })();
  return ws;
}

/** Listens on TCP and calls `onConnection` for every accepted WebSocket. */
export function serve(options: RuntimeServerOptions, onConnection: OnConnection): { addr: { hostname: string; port: number }; close(): void } {
  const listener = Deno.listen({ port: options.port ?? 0, hostname: options.hostname ?? "127.0.0.1" });
  (async () => {
    for await (const tcp of listener) {
      tcp.setNoDelay?.(true);
      const conn = Connection.server({ ...bufferHost, ...options });
      acceptOn(overConn(tcp, conn), conn, options, nodeDeflateEngine, onConnection);
    }
  })().catch(() => {});
  return { addr: listener.addr, close: () => listener.close() };
}

/** Connects to a ws:// URL; listen for 'open'. */
export function connect(url: string, options: ConnectionOptions & ClientRequestOptions & { perMessageDeflate?: boolean | DeflateOptions } = {}): WebSocketConnection {
  const u = new URL(url);
  if (u.protocol !== "ws:") throw new TypeError("wasmsocket/deno: only ws:// URLs (use Deno.connectTls for wss)");
  const pmd = options.perMessageDeflate ?? true;
  const conn = Connection.client(u, { ...bufferHost, negotiator: pmd ? deflateForClient(pmd === true ? {} : pmd, nodeDeflateEngine) : undefined, ...options });
  const tcp = Deno.connect({ hostname: u.hostname, port: Number(u.port) || 80 }).then((t) => (t.setNoDelay?.(true), t));
  const ws = overConn(tcp, conn);
  ws.driver.pump(); // queues the upgrade request until the connection is up
  return ws;
}
export { nodeDeflateEngine as deflateEngine } from "./adapters/node/zlib-engine.js";
