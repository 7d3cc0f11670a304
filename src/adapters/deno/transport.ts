// The Deno transport: a Deno.Conn (TCP or TLS) under the generic driver, through its own read() and
// write(). Reads land in one reused buffer (the connection copies what it keeps); writes are queued,
// since Deno's write() may be partial.
import type { Connection } from "../../protocol/connection.js";
import type { Transport } from "../transport.js";
import type { DriverLimits } from "../progress-watch.js";
import { WebSocketConnection } from "../socket.js";

/** The part of Deno.Conn (and Deno.TlsConn) we use. */
export interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(on: boolean): void;
}
export interface DenoListener extends AsyncIterable<DenoConn> {
  addr: { hostname: string; port: number };
  close(): void;
}
/** The part of the Deno namespace we use (looked up when called: the module also loads elsewhere). */
export interface DenoApi {
  listen(o: { port: number; hostname?: string }): DenoListener;
  listenTls(o: { port: number; hostname?: string; cert: string; key: string }): DenoListener;
  connect(o: { port: number; hostname: string }): Promise<DenoConn>;
  connectTls(o: { port: number; hostname: string; caCerts?: string[] }): Promise<DenoConn>;
}
export const deno = (): DenoApi => (globalThis as unknown as { Deno: DenoApi }).Deno;

/** Read buffers grow while reads fill them and shrink after a run of small reads: an idle connection holds 4 KiB, a busy one up to 64. */
const READ_MIN = 4 * 1024;
const READ_MAX = 64 * 1024;
const SMALL_READS_BEFORE_SHRINK = 16;
/** Queued bytes above which the transport reports congestion. */
const HIGH_WATER = 256 * 1024;
/** Chunks this large are written on their own: a second write costs less than copying them. */
const WRITE_ALONE = 64 * 1024;

/**
 * The next bytes to write: the first queued chunk, joined with the small chunks queued behind it.
 * Each flush of the connection queues one chunk, and flushes that come while a write is under way
 * pile up: one write op for all of them, not one each (a Deno op and a syscall per write).
 */
function takeWrite(queue: Uint8Array[]): Uint8Array {
  let n = 0;
  let total = 0;
  while (n < queue.length && queue[n]!.length < WRITE_ALONE && total < WRITE_ALONE) total += queue[n++]!.length;
  if (n <= 1) return queue.shift()!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of queue.splice(0, n)) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Runs `conn` over a Deno.Conn. A client passes the pending Deno.connect() (or connectTls()): writes
 * wait for it, and its failure ('error', e.g. ECONNREFUSED) closes the socket. `receive`, where
 * given, takes the bytes read instead of the driver (a server's UpgradeGate).
 */
export function overConn(connecting: DenoConn | Promise<DenoConn>, conn: Connection, receive?: (ws: WebSocketConnection, bytes: Uint8Array) => void, limits?: DriverLimits): WebSocketConnection {
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
        const chunk = takeWrite(queue);
        for (let off = 0; off < chunk.length; ) off += await t.write(off ? chunk.subarray(off) : chunk);
        queued -= chunk.length;
      }
      // Deno no longer holds any chunk the connection handed over: its outgoing buffer may be
      // written over from the start (without this, every busy connection kept allocating new ones).
      conn.outgoingConsumed();
      if (ending) closeAll();
      else ws.driver.drained();
    } catch (e) {
      closeAll(e);
    } finally {
      writing = false;
    }
  };
  const transport: Transport = {
    // A client reads on while its own sends wait (see Transport.readsWhileCongested): both ends
    // stopping reading made a Deno client and any server wait for each other forever.
    readsWhileCongested: conn.role === "client",
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
  const ws = new WebSocketConnection(conn, transport, limits);
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
        if (receive) receive(ws, buf.subarray(0, n));
        else ws.driver.receive(buf.subarray(0, n));
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
