// The Node transport: a net.Socket (or any Duplex) under the generic ConnectionDriver. No closures
// per connection: the transport is a class, and the socket's listeners are shared functions that
// find their driver on the socket (Node calls listeners with the emitter as `this`). That keeps an
// idle connection's JS heap small (heap snapshot of 1 000 connections: ~0.9 KB each went to
// closures and their contexts).
import type { Duplex } from "node:stream";
import type { Connection } from "../../protocol/connection.js";
import { ConnectionDriver, type DriverOwner, type DriverLimits, type Transport } from "../driver.js";
import { readIntoWindow } from "./direct-reads.js";

export { DEFAULT_MAX_PENDING_BYTES } from "../driver.js";

const kDriver = Symbol("wasmsocket.driver");
const kTransport = Symbol("wasmsocket.http2Transport");
/** A net.Socket's libuv stream handle, or a TLSWrap with that handle as `_parent` (see pending()). */
type Handle = { writeQueueSize?: number; _parent?: Handle };
type DrivenSocket = Duplex & { [kDriver]: ConnectionDriver };

export class SocketTransport implements Transport {
  // Frames up to 64 KiB are coalesced into one buffer (one write call, not one per chunk)...
  // (constant: on the prototype, below, as reportsWrites; not in each connection's transport)
  declare readonly vectored: boolean;

  /** `readsWhileCongested`: see Transport (true for a client's socket). */
  constructor(
    protected readonly socket: Duplex,
    readonly readsWhileCongested = false,
  ) {}

  // ...which the connection reuses once Node has handed every byte to the kernel: a write that
  // completes at once leaves nothing queued and keeps no reference to the buffer.
  consumed(): boolean {
    return this.socket.writableLength === 0;
  }

  declare readonly reportsWrites: boolean;

  /**
   * Bytes handed to the socket, and (once destroy() was called) how many of them Node had taken
   * by then: a write ending past that point never reached the kernel. Node calls the callback of a
   * write cut off by destroy() without an error (stream_base_commons' onWriteComplete on a
   * destroyed stream), so `done` would report a send that was lost as sent (30 x 1 MiB to a peer
   * that did not read, then terminate(): 30 successes, 0 bytes delivered; ws reports errors).
   */
  #handed = 0;
  /** -1 until destroy() (a small integer, not a boxed Infinity: 16 B less per idle connection). */
  #taken = -1;

  write(chunks: Uint8Array[], done?: (err?: Error | null) => void): boolean {
    const socket = this.socket;
    if (socket.destroyed) {
      if (done) queueMicrotask(() => done(new Error("The socket was closed")));
      return true;
    }
    let n = 0;
    for (let i = 0; i < chunks.length; i++) n += chunks[i]!.length;
    const end = (this.#handed += n);
    const cb = done && ((err?: Error | null) => done(err ?? (this.#taken >= 0 && end > this.#taken ? new Error("The socket was destroyed before the data was written") : null)));
    let ok: boolean;
    if (chunks.length === 1) {
      ok = socket.write(chunks[0]!, cb);
    } else {
      socket.cork();
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) socket.write(chunks[i]!);
      socket.write(chunks[last]!, cb);
      socket.uncork();
      ok = socket.writableLength < socket.writableHighWaterMark;
    }
    // Congestion pauses reading through the driver; a peer that stops reading is judged there, by
    // time without progress, never by the size of one write.
    return ok;
  }

  /**
   * Bytes not yet taken by the kernel. writableLength counts the write in flight at its full size
   * until all of it is out, so a peer taking a 24 MB chunk at 3 MB/s showed no progress for 8 s and
   * the progress watch dropped it as not reading. Of that write, what libuv still holds is its
   * handle's writeQueueSize (a live read of uv_stream_t.write_queue_size, which shrinks with each
   * partial write). Under TLS it is the TCP handle's, the TLSWrap's `_parent` (the TLSWrap's own
   * count stays at the whole encrypted write until it completes). Only while a write is in flight
   * and only below its size; anything else (an HTTP/2 stream, TLS over a Duplex, any other Duplex):
   * writableLength, as before. The driver asks after each flush (nothing queued then, as a rule).
   */
  pending(): number {
    const socket = this.socket as Duplex & { _handle?: Handle | null; _writableState?: { writelen?: number } };
    const all = socket.writableLength;
    if (all === 0) return 0; // the common case (the driver asks after each flush), at once
    const inFlight = socket._writableState?.writelen;
    if (!inFlight || all < inFlight) return all;
    const handle = socket._handle;
    const uv = handle?._parent ?? handle;
    // Only a libuv stream's count is live (a TLSWrap's, or a JSStream's under TLS over a Duplex, is not).
    const name = uv?.constructor.name;
    if (name !== "TCP" && name !== "Pipe") return all;
    const queued = uv!.writeQueueSize;
    return typeof queued === "number" && queued >= 0 && queued < inFlight ? all - inFlight + queued : all;
  }

  pauseReading(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    if (!this.socket.destroyed) this.#taken = this.#handed - this.socket.writableLength;
    this.socket.destroy();
  }
}

Object.defineProperties(SocketTransport.prototype, { vectored: { value: false }, reportsWrites: { value: true } });

/**
 * What an HTTP/2 stream is handed at once (see Http2StreamTransport). The progress watch sees a
 * peer's progress one slice at a time: at the default stallTimeout (30 s) a peer taking 2.2 KB/s
 * still shows some; at 2 s, one taking 33 KB/s. 64 KiB is node:http2's default stream window, and
 * it cost no server CPU against 256 KiB (65 KB messages over h2, 3 rounds round robin: 242-248
 * against 245-249 ticks; 16 KiB slices cost 7 % more).
 */
const H2_SLICE = 64 * 1024;

/**
 * The transport over an Http2Stream (RFC 8441 WebSockets). An Http2Stream's writableLength counts
 * a write at its full size until node:http2 has framed all of it (as far as the peer's flow-control
 * window lets it), and it merges queued writes into one (writev), so handing it a 12 MB message made
 * pending() stand still until the whole message was out: a peer reading at ~3 MB/s while the server
 * closed behind the message was dropped as not reading after stallTimeout (2 s: 1.36 MB taken,
 * 1006). Here the stream holds at most H2_SLICE bytes; the rest waits in our own queue and goes to
 * the stream as each write completes, so pending() falls as the peer takes bytes, and a peer that
 * takes none still shows none. Writes that fit beside what the stream holds go straight through,
 * as on a socket (the small-message path is SocketTransport's).
 */
export class Http2StreamTransport extends SocketTransport {
  /** Chunks not yet handed to the stream (the first from #head on), and each one's `done`. */
  #queue: Uint8Array[] = [];
  #dones: ((err?: Error | null) => void)[] = [];
  #head = 0;
  #queued = 0;
  /** write() returned false and the driver has not yet been told the transport drained. */
  #owed = false;
  #ending = false;
  readonly #after = (): void => {
    this.#feed();
    if (this.#owed && this.#queued === 0 && this.socket.writableLength === 0) this.drainedNow();
  };

  override consumed(): boolean {
    return this.#queued === 0 && this.socket.writableLength === 0;
  }

  override pending(): number {
    return this.#queued + this.socket.writableLength;
  }

  override write(chunks: Uint8Array[], done?: (err?: Error | null) => void): boolean {
    const socket = this.socket;
    // Once write() said "full", everything goes through the queue until the driver is told it
    // drained: each slice's callback can then tell it (a small write with no callback, after the
    // last slice, would otherwise leave that to a 'drain' the stream never emits).
    if ((this.#queued === 0 && !this.#owed) || socket.destroyed) {
      let n = 0;
      for (let i = 0; i < chunks.length; i++) n += chunks[i]!.length;
      // Strictly below: what the stream then holds leaves room for #feed's first slice, whose
      // callback feeds the next.
      if (socket.destroyed || socket.writableLength + n < H2_SLICE) {
        const ok = super.write(chunks, done);
        if (!ok) this.#owed = true;
        return ok;
      }
    }
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = chunks[i]!;
      if (c.length === 0 && !(i === last && done)) continue;
      this.#queue.push(c);
      this.#dones.push(i === last && done ? done : noop);
      this.#queued += c.length;
    }
    this.#feed();
    const ok = this.pending() < socket.writableHighWaterMark;
    if (!ok) this.#owed = true;
    return ok;
  }

  /** Hands the stream the queue's next bytes, up to H2_SLICE held by it. */
  #feed(): void {
    const socket = this.socket;
    const queue = this.#queue;
    while (queue.length > 0) {
      if (socket.destroyed) return this.#fail();
      const room = H2_SLICE - socket.writableLength;
      if (room <= 0) break;
      const c = queue[0]!;
      const rest = c.length - this.#head;
      if (rest <= room) {
        const piece = this.#head === 0 ? c : c.subarray(this.#head);
        const done = this.#dones[0]!;
        queue.shift();
        this.#dones.shift();
        this.#head = 0;
        this.#queued -= rest;
        super.write([piece], done === noop ? this.#after : (err) => (done(err), this.#after()));
      } else {
        const piece = c.subarray(this.#head, this.#head + room);
        this.#head += room;
        this.#queued -= room;
        super.write([piece], this.#after);
      }
    }
    if (queue.length === 0 && this.#ending) {
      this.#ending = false;
      socket.end();
    }
  }

  /** The queue's callbacks get the error a destroyed socket's writes get; nothing more is sent. */
  #fail(): void {
    const dones = this.#dones;
    this.#queue = [];
    this.#dones = [];
    this.#head = this.#queued = 0;
    const err = new Error("The socket was destroyed before the data was written");
    for (const done of dones) if (done !== noop) queueMicrotask(() => done(err));
  }

  /** The stream's own 'drain' counts only once our queue is empty too (see onHttp2Drain). */
  drainedNow(): void {
    if (!this.#owed || this.#queued !== 0) return;
    this.#owed = false;
    this.tellDrained();
  }

  /** Tells the socket's driver it can take more (a subclass finds the driver elsewhere). */
  protected tellDrained(): void {
    (this.socket as DrivenSocket)[kDriver]?.drained();
  }

  override end(): void {
    if (this.#queued > 0 && !this.socket.destroyed) this.#ending = true;
    else this.socket.end();
  }

  override destroy(): void {
    super.destroy();
    this.#ending = false;
    if (this.#queue.length) this.#fail();
  }
}

function noop(): void {}

function onWindowRead(this: DrivenSocket, n: number): boolean {
  const driver = this[kDriver];
  driver.receiveFromWindow(n);
  // Reading into our memory bypasses the stream's buffer, so pause() alone does not hold: Node's
  // stream machinery may start the handle again. Returning false stops it; resume() restarts it.
  return !driver.readingPaused;
}
function onData(this: DrivenSocket, chunk: Buffer): void {
  this[kDriver].receive(chunk);
}
function onDrain(this: DrivenSocket): void {
  this[kDriver].drained();
}
function onHttp2Drain(this: DrivenSocket & { [kTransport]: Http2StreamTransport }): void {
  this[kTransport].drainedNow();
}
function onError(): void {
  // 'close' follows; the connection reports 1006.
}
// The peer half-closed: nothing more to read, so finish our side too.
function onEnd(this: Duplex): void {
  this.end();
}
function onClose(this: DrivenSocket): void {
  this[kDriver].transportClosed();
}

/** Drives `owner.conn` over `socket`, through `owner.transport` (a SocketTransport of that socket). */
export function driveSocket(socket: Duplex, owner: DriverOwner & { readonly conn: Connection; readonly transport: SocketTransport }, limits?: DriverLimits): ConnectionDriver {
  const { conn, transport } = owner;
  // Listen for errors first: an error on a socket with no listener would crash the process.
  socket.on("error", onError);
  const driver = new ConnectionDriver(owner, limits);
  const driven = socket as DrivenSocket;
  driven[kDriver] = driver;
  // Received bytes go straight into core memory where Node allows it (handshake bytes included: no
  // 64 KiB read buffer is allocated for them either); otherwise they come as 'data' chunks.
  driver.directReads = readIntoWindow(driven, conn.receiveWindow(), onWindowRead);
  socket.on("data", onData);
  if (transport instanceof Http2StreamTransport) {
    (driven as DrivenSocket & { [kTransport]: Http2StreamTransport })[kTransport] = transport;
    socket.on("drain", onHttp2Drain);
  } else socket.on("drain", onDrain);
  socket.on("end", onEnd);
  socket.on("close", onClose);
  return driver;
}
