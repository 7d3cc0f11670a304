// The Deno transport: a Deno.Conn (TCP or TLS) under the generic driver, through its own read() and
// write(). Reads land in one reused buffer (the connection copies what it keeps); writes are queued,
// since Deno's write() is asynchronous and may be partial: small chunks copied into shared write
// buffers, large ones as they are.
import type { Connection } from "../../protocol/connection.js";
import type { Transport } from "../transport.js";
import type { DriverLimits } from "../progress-watch.js";
import { WebSocketConnection } from "../socket.js";
import type { UpgradeGate } from "../upgrade-gate.js";

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
  listen(o: { port: number; hostname?: string; reusePort?: boolean }): DenoListener;
  listenTls(o: { port: number; hostname?: string; cert: string; key: string; reusePort?: boolean }): DenoListener;
  connect(o: { port: number; hostname: string }): Promise<DenoConn>;
  connectTls(o: { port: number; hostname: string; caCerts?: string[] }): Promise<DenoConn>;
}
export const deno = (): DenoApi => (globalThis as unknown as { Deno: DenoApi }).Deno;

/**
 * Read buffers grow while reads fill them and shrink after a run of small reads: an idle connection
 * holds 1 KiB (a pending Deno read needs a buffer of its own; 4 KiB was 4 of the ~37 KB per idle
 * connection, measured with Deno.memoryUsage() after a GC), a busy one up to 64.
 */
const READ_MIN = 1024;
const READ_MAX = 64 * 1024;
const SMALL_READS_BEFORE_SHRINK = 16;
/** Queued bytes above which the transport reports congestion. */
const HIGH_WATER = 256 * 1024;
/**
 * Chunks this large are written from where they are (the application's payload): a second write
 * op costs less than copying them. Smaller ones are copied into the shared write buffers below.
 */
const WRITE_ALONE = 64 * 1024;

/**
 * Write buffers, shared by every connection: one holds what a connection queues while its previous
 * write is under way, so a busy connection uses one or two and an idle one none. Deno zeroes every
 * buffer it allocates (it has no unzeroed allocation like Node's allocUnsafe), and pending writes
 * kept the connection's own outgoing buffer from being reused: a 4 KiB echo spent about a fifth of
 * its CPU in malloc, calloc and memset before these were kept. Sizes are powers of two from
 * WRITE_MIN to WRITE_ALONE, up to 512 KiB kept per size (a 32 B echo's 600-byte answers must not
 * take, and zero, 64 KiB each).
 */
const WRITE_MIN = 4 * 1024;
const freeBuffers = new Map<number, Uint8Array[]>();
function takeBuffer(atLeast: number): Uint8Array {
  let size = WRITE_MIN;
  while (size < atLeast) size *= 2;
  return freeBuffers.get(size)?.pop() ?? new Uint8Array(size);
}
function giveBuffer(b: Uint8Array): void {
  let free = freeBuffers.get(b.length);
  if (!free) freeBuffers.set(b.length, (free = []));
  if (free.length < Math.max(8, (512 * 1024) / b.length)) free.push(b);
}

/**
 * A Deno.Conn under the driver. One object per connection holds what it needs (no closures per
 * connection: the closure-built version cost ~1 KB more of JS heap per idle connection on Deno).
 * A client passes the pending Deno.connect() (or connectTls()): writes wait for it, and its failure
 * ('error', e.g. ECONNREFUSED) closes the socket.
 */
export class DenoTransport implements Transport {
  /**
   * A client reads on while its own sends wait (see Transport.readsWhileCongested): both ends
   * stopping reading made a Deno client and any server wait for each other forever.
   */
  readonly readsWhileCongested: boolean;
  /** Until the request head is complete, a server's bytes go through its gate (then undefined). */
  gate: UpgradeGate | undefined;
  /** The WebSocket this transport carries. */
  readonly ws: WebSocketConnection;
  #tcp: DenoConn | undefined;
  /** A client's Deno.connect(), then the Deno.Conn it made (and #tcp). */
  #connecting: Promise<DenoConn> | undefined;
  // What waits to be written, in order: chunks of WRITE_ALONE or more as given, and the write
  // buffers the smaller ones were copied into (`owned[i]`: the buffer to give back once written).
  // Emptied (length 0, which frees their storage) once all is written: an idle connection keeps none.
  #queue: Uint8Array[] = [];
  #owned: (Uint8Array | undefined)[] = [];
  #fill: Uint8Array | undefined = undefined;
  #fillLen = 0;
  /** Chunks queued or being written as given: the connection's bytes, which it must not reuse yet. */
  #uncopied = 0;
  #queued = 0;
  #writing = false;
  #ending = false;
  #closed = false;
  #paused = false;
  #resumeReading: (() => void) | undefined = undefined;

  constructor(connecting: DenoConn | Promise<DenoConn>, conn: Connection, limits?: DriverLimits) {
    this.readsWhileCongested = conn.role === "client";
    if (!(connecting instanceof Promise)) this.#tcp = connecting;
    // Closed while connecting (terminate() before 'open'): the connection made after all is closed
    // at once, so nothing is written on it.
    else
      this.#connecting = connecting.then((t) => {
        this.#tcp = t;
        if (this.#closed) t.close();
        return t;
      });
    this.ws = new WebSocketConnection(conn, this, limits);
    void this.#read();
  }

  write(chunks: Uint8Array[]): boolean {
    for (const c of chunks) {
      this.#queued += c.length;
      if (c.length >= WRITE_ALONE) {
        this.#seal();
        this.#queue.push(c);
        this.#owned.push(undefined);
        this.#uncopied++;
        continue;
      }
      // A full buffer is sealed and the next one taken twice as large (a busy connection's grow).
      let fill = this.#fill;
      const grow = fill && this.#fillLen + c.length > fill.length ? fill.length * 2 : 0;
      if (grow) this.#seal();
      fill = this.#fill ??= takeBuffer(Math.max(c.length, Math.min(grow, WRITE_ALONE)));
      fill.set(c, this.#fillLen);
      this.#fillLen += c.length;
    }
    void this.#pumpWrites();
    return this.#queued < HIGH_WATER;
  }
  /** Small chunks were copied: the connection may write over its outgoing buffer at once. */
  consumed(): boolean {
    return this.#uncopied === 0;
  }
  pending(): number {
    return this.#queued;
  }
  end(): void {
    this.#ending = true;
    if (!this.#writing && !this.#queue.length && !this.#fill) this.#closeAll();
  }
  destroy(): void {
    this.#closeAll();
  }
  pauseReading(paused: boolean): void {
    this.#paused = paused;
    if (!paused) this.#resumeReading?.();
  }

  #seal(): void {
    const fill = this.#fill;
    if (!fill) return;
    this.#queue.push(fill.subarray(0, this.#fillLen));
    this.#owned.push(fill);
    this.#fill = undefined;
    this.#fillLen = 0;
  }

  #closeAll(err?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#tcp?.close();
    } catch {
      // already closed
    }
    if (err !== undefined) this.ws.transportError(err);
    this.ws.driver.transportClosed();
  }

  async #pumpWrites(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    const queue = this.#queue, owned = this.#owned;
    try {
      const t = this.#tcp ?? (await this.#connecting!);
      for (;;) {
        if (!queue.length) this.#seal(); // what was copied while the last write was under way
        const chunk = queue.shift();
        if (!chunk) break;
        const buffer = owned.shift();
        for (let off = 0; off < chunk.length; ) off += await t.write(off ? chunk.subarray(off) : chunk);
        this.#queued -= chunk.length;
        if (buffer) giveBuffer(buffer);
        else if (--this.#uncopied === 0) this.ws.conn.outgoingConsumed(); // Deno holds none of the connection's bytes now
      }
      queue.length = 0; // frees the arrays' storage
      owned.length = 0;
      if (this.#ending) this.#closeAll();
      else this.ws.driver.drained();
    } catch (e) {
      this.#closeAll(e);
    } finally {
      this.#writing = false;
    }
  }

  async #read(): Promise<void> {
    let buf = new Uint8Array(READ_MIN);
    let smallReads = 0;
    let failure: unknown;
    try {
      const t = this.#tcp ?? (await this.#connecting!);
      for (;;) {
        while (this.#paused) await new Promise<void>((r) => (this.#resumeReading = r));
        const n = await t.read(buf);
        if (n === null) break;
        // A server's first bytes go through its UpgradeGate until the request head is complete.
        const gate = this.gate;
        if (!gate) this.ws.driver.receive(buf.subarray(0, n));
        else if (gate.push(buf.subarray(0, n))) this.gate = undefined;
        if (n === buf.length && buf.length < READ_MAX) {
          buf = new Uint8Array(buf.length * 2);
          smallReads = 0;
        } else if (n >= buf.length / 4) {
          smallReads = 0; // a run of small reads, not any 16: the buffer grew and shrank back in turn
        } else if (buf.length > READ_MIN && ++smallReads >= SMALL_READS_BEFORE_SHRINK) {
          buf = new Uint8Array(buf.length / 2);
          smallReads = 0;
        }
      }
    } catch (e) {
      // a reset or a failed Deno.connect: reported below as the transport closing
      failure = e;
    }
    // The peer closed its side (FIN) and may still read, e.g. after its close frame: what is queued
    // goes out first, then the socket closes (pumpWrites, as after end()). Closing at once dropped
    // the last echoes and the close reply.
    if (failure === undefined && this.#writing && !this.#closed) this.#ending = true;
    else this.#closeAll(failure);
  }
}
