// Drives a sans-I/O Connection over any transport: bytes in, events dispatched, bytes out.
// Every frame of one read is handled in one pass, and everything the application sends while those
// events are dispatched leaves in one write (../shared/DESIGN.md §2: one read in, one write out). Runtime
// adapters supply a Transport and call receive() / transportClosed() / drained(). Over 350 lines: the
// flush has a second path for transports that write (buffer, offset, length), kept beside the first.
//
// Fail closed, lose nothing: a listener that throws never stops the protocol work of the read
// (close replies, writes, cleanup); its exception is rethrown afterwards, outside our state. A peer
// that stops reading is dropped only after it made no progress for `stallTimeout` (progress-watch.ts).
import type { Connection } from "../protocol/connection.js";
import type { PreparedMessage } from "../protocol/prepared.js";
import { itemEvent, type Clock, type ConnectionEvent, type EventItem } from "../protocol/events.js";
import { DEFAULT_MAX_PENDING_BYTES, DEFAULT_STALL_TIMEOUT, ProgressWatch, StalledPeerError, type DriverLimits } from "./progress-watch.js";
import { WheelTimer } from "./timer-wheel.js";
import type { Transport } from "./transport.js";

export type { Transport } from "./transport.js";
export { DEFAULT_MAX_PENDING_BYTES, DEFAULT_STALL_TIMEOUT, type DriverLimits } from "./progress-watch.js";

export interface DriverHooks {
  onEvent(event: ConnectionEvent): void;
  /** A whole message, without an event object (EventItem); without it, onEvent gets a "message" event. */
  onMessage?(data: string | Uint8Array, binary: boolean): void;
  onDrain?(): void;
}

/**
 * The socket a driver runs for: where its events go, and the connection and transport it drives,
 * read from there rather than kept twice (issue 19: two fields less in every driver). Both are set
 * before the driver is made and never change.
 */
export interface DriverOwner extends DriverHooks {
  readonly conn: Connection | undefined;
  readonly transport: Transport | undefined;
}

/** How long a transport may linger after we ended it (and flushed it) before it is destroyed. */
const LINGER_MS = 5_000;

/** The time every driven connection is measured on (the sans-I/O layers read no clock themselves). */
export const systemClock: Clock = { now: () => Date.now() };

export type WriteCallback = (err?: Error) => void;

/** Whether an item is a message (whole, bare or not, or a fragment): what waits while paused. */
function isMessage(ev: EventItem): boolean {
  return typeof ev !== "object" || ArrayBuffer.isView(ev) || ev.type === "message" || ev.type === "fragment";
}

const F_DISPATCHING = 1, F_FLUSH_QUEUED = 2, F_ENDED = 4, F_CLOSED = 8, F_CONGESTED = 16, F_USER_PAUSED = 32, F_DIRECT_READS = 64, F_PUBLISH_QUEUED = 128;

export class ConnectionDriver {
  /**
   * The connection's next deadline, in the shared timer wheel: made when first needed, dropped with
   * its closure when none is left (an open connection without keepalive or idle timeout: ~140 B).
   * Once the transport is ended, the linger timer (no deadline runs then).
   */
  #timer: WheelTimer | undefined;
  /** Whether the transport reads into conn.receiveWindow() (reported for tests and diagnostics). */
  get directReads(): boolean { return (this.#flags & F_DIRECT_READS) !== 0; }
  set directReads(on: boolean) { this.#flags = on ? this.#flags | F_DIRECT_READS : this.#flags & ~F_DIRECT_READS; }
  /** Topics listed this connection for the flush after this turn's publishes (topics.ts). */
  get publishQueued(): boolean { return (this.#flags & F_PUBLISH_QUEUED) !== 0; }
  set publishQueued(on: boolean) { this.#flags = on ? this.#flags | F_PUBLISH_QUEUED : this.#flags & ~F_PUBLISH_QUEUED; }
  /** Eight flags in one integer (one field, not eight: 56 B less per idle connection): dispatching, a
   * flush queued, ended, closed, reading stopped by a congested transport or by the application. */
  #flags = 0;
  /** Callbacks of what was queued since the last write, run when that write completes. */
  #callbacks: WriteCallback[] | undefined;
  /** Messages that arrived while the application had paused, delivered on resume(). */
  #held: EventItem[] | undefined;
  /** Made when bytes first wait in the transport, dropped when they have all left: idle connections hold none. */
  #watch: ProgressWatch | undefined;
  readonly #limits: DriverLimits;
  /** The socket this driver runs for (its connection, transport and event sink). */
  readonly #hooks: DriverOwner;

  /** `owner`: its `conn` and `transport` are set, and stay. */
  constructor(owner: DriverOwner, limits: DriverLimits = {}) {
    this.#hooks = owner;
    if (!this.#transport.vectored) this.conn.coalesceOutgoing();
    this.conn.useClock(systemClock);
    this.#limits = limits;
  }

  /** The connection driven (the owner's). */
  get conn(): Connection {
    return this.#hooks.conn!;
  }

  get #transport(): Transport {
    return this.#hooks.transport!;
  }

  /** Watches the bytes waiting in the transport (`pending` of them now) for progress. */
  #makeWatch(pending: number): ProgressWatch {
    const conn = this.conn;
    const stallTimeout = this.#limits.stallTimeout ?? DEFAULT_STALL_TIMEOUT;
    const mustDrain = () => (this.#flags & F_ENDED) !== 0 || conn.state === "closing";
    return new ProgressWatch(this.#transport, this.#limits.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, stallTimeout, mustDrain, (pending) => {
      // Nothing taken for a whole stallTimeout: say why before the transport goes (the 'close' is 1006).
      this.#emitOne({ type: "error", error: new StalledPeerError(pending, stallTimeout) }, undefined)?.forEach((e) => queueMicrotask(() => { throw e; }));
      this.destroy();
    }, pending);
  }

  /** The transport delivered bytes; `lend`: they are given away (Connection.receive). */
  receive(bytes: Uint8Array, lend = false): void {
    this.conn.receive(bytes, lend);
    this.pump();
  }

  /** The transport read `n` bytes straight into conn.receiveWindow(). */
  receiveFromWindow(n: number): void {
    this.conn.receiveFromWindow(n);
    this.pump();
  }

  /** The transport closed (either side, cleanly or not). */
  transportClosed(): void {
    if (this.#flags & F_CLOSED) return;
    this.#flags |= F_CLOSED;
    this.#timer?.clear();
    this.#watch?.stop();
    this.conn.transportClosed();
    this.pump();
  }

  /** The transport can take more bytes again. */
  drained(): void {
    if (this.#flags & F_CONGESTED) {
      this.#flags &= ~F_CONGESTED;
      if (!(this.#flags & F_USER_PAUSED)) this.#transport.pauseReading?.(false);
    }
    if (!this.#transport.pending?.()) {
      // Everything left: a close queued behind a large send starts its timeout only now.
      this.conn.outgoingFlushed();
      this.#watch?.stop();
      this.#watch = undefined;
      if (!(this.#flags & (F_CLOSED | F_ENDED))) this.#scheduleTimer();
    }
    this.#hooks.onDrain?.();
  }

  /** The application stops (or restarts) reading: separate from the transport's own backpressure. */
  pause(): void {
    if (this.#flags & F_USER_PAUSED) return;
    this.#flags |= F_USER_PAUSED;
    this.#transport.pauseReading?.(true);
  }

  resume(): void {
    if (!(this.#flags & F_USER_PAUSED)) return;
    this.#flags &= ~F_USER_PAUSED;
    if (!(this.#flags & F_CONGESTED)) this.#transport.pauseReading?.(false);
    // Held messages go out from pump() (at once, or after the dispatch this was called from).
    if (this.#held) this.requestFlush();
  }

  get isPaused(): boolean {
    return (this.#flags & F_USER_PAUSED) !== 0;
  }

  /** Whether reading is stopped, by the application or by our own backpressure. */
  get readingPaused(): boolean {
    return (this.#flags & (F_USER_PAUSED | F_CONGESTED)) !== 0;
  }

  /** Dispatches pending events, then writes everything produced, then acts on the state. */
  pump(): void {
    if (this.#flags & F_DISPATCHING) return;
    let failures: unknown[] | undefined;
    for (;;) {
      let events: EventItem[];
      if (this.#held && !(this.#flags & F_USER_PAUSED)) {
        // Resumed: what was held comes before anything newer.
        events = this.#held;
        this.#held = undefined;
      } else {
        events = this.conn.takeItems();
        if (events.length === 0) break;
      }
      const f = this.#dispatch(events);
      if (f) (failures ??= []).push(...f);
    }
    this.#flush();
    // Like Node's emitter: a listener's exception surfaces, but only after the protocol work is done.
    if (failures) for (const e of failures) queueMicrotask(() => { throw e; });
  }

  /** Emits each event; a throwing listener does not stop the others. Returns what was thrown. */
  #dispatch(events: EventItem[]): unknown[] | undefined {
    let failures: unknown[] | undefined;
    this.#flags |= F_DISPATCHING;
    try {
      for (const ev of events) {
        if (this.#held || ((this.#flags & F_USER_PAUSED) && isMessage(ev))) {
          // Paused: messages wait for resume(), and what follows them waits behind them, except the
          // end of the connection, which delivers them first (as ws does when the socket closes).
          if (typeof ev !== "object" || ArrayBuffer.isView(ev) || ev.type !== "close") {
            (this.#held ??= []).push(ev);
            continue;
          }
          const held = this.#held ?? [];
          this.#held = undefined;
          for (const h of held) failures = this.#emitOne(h, failures);
        }
        failures = this.#emitOne(ev, failures);
      }
    } finally {
      this.#flags &= ~F_DISPATCHING;
    }
    return failures;
  }

  #emitOne(ev: EventItem, failures: unknown[] | undefined): unknown[] | undefined {
    const hooks = this.#hooks;
    try {
      // A whole message kept as its data alone: a string is text, bytes are binary (EventItem).
      // Event objects are told apart by their `type` (bytes have none): a property load where
      // ArrayBuffer.isView() per event cost Node's 32 B echo ~3 % (in-process A/B, 2026-12-03).
      if (typeof ev === "string") hooks.onMessage ? hooks.onMessage(ev, false) : hooks.onEvent(itemEvent(ev));
      else if ((ev as ConnectionEvent).type !== undefined) hooks.onEvent(ev as ConnectionEvent);
      else hooks.onMessage ? hooks.onMessage(ev as Uint8Array, true) : hooks.onEvent(itemEvent(ev));
    } catch (e) {
      (failures ??= []).push(e);
    }
    return failures;
  }

  // What the application does through a socket: act on the connection, then flush (coalesced).

  /** Payload bytes sent since the last write to the transport (what ws counts as buffered). */
  unflushedBytes = 0;

  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView, options: { binary?: boolean; compress?: boolean } = {}, cb?: WriteCallback): boolean {
    const sent = this.conn.send(data, options);
    if (sent) this.unflushedBytes += typeof data === "string" ? data.length : data.byteLength;
    this.#queued(sent, cb);
    return sent;
  }

  /**
   * A message framed once for many connections (publish/subscribe); false if it was not queued.
   * The caller flushes (pump()) when it has queued what it will: Topics does so once per turn.
   */
  sendPrepared(msg: PreparedMessage): boolean {
    const sent = this.conn.sendPrepared(msg);
    if (sent) this.unflushedBytes += msg.bytes.length;
    return sent;
  }

  /** Bytes waiting for the peer: queued in the connection and in the transport. */
  get queuedBytes(): number {
    return this.conn.bufferedAmount + (this.#transport.pending?.() ?? 0);
  }

  /** One fragment of a message; `fin` ends it. */
  sendFragment(data: string | Uint8Array, binary: boolean, fin: boolean, cb?: WriteCallback): boolean {
    const sent = this.conn.sendFragment(data, { binary, fin });
    if (sent) this.unflushedBytes += data.length;
    this.#queued(sent, cb);
    return sent;
  }

  ping(data?: Uint8Array | string, cb?: WriteCallback): void {
    this.#queued(this.conn.ping(data), cb);
  }

  pong(data?: Uint8Array | string, cb?: WriteCallback): void {
    this.#queued(this.conn.pong(data), cb);
  }

  /** Something was queued (or refused): its callback runs with the write that carries it. */
  #queued(sent: boolean, cb: WriteCallback | undefined): void {
    if (cb) {
      if (sent) (this.#callbacks ??= []).push(cb);
      else queueMicrotask(() => cb(new Error("WebSocket is not open")));
    }
    this.requestFlush();
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code, reason);
    this.requestFlush();
  }

  /** Requests a flush of what the application queued outside an event dispatch. */
  requestFlush(): void {
    if (this.#flags & (F_DISPATCHING | F_FLUSH_QUEUED)) return;
    this.#flags |= F_FLUSH_QUEUED;
    queueMicrotask(() => {
      this.#flags &= ~F_FLUSH_QUEUED;
      this.pump();
    });
  }

  #flush(): void {
    // Bun: one run of the outgoing buffer, no callbacks, nothing waiting: written as (buffer, offset,
    // length), without the per-flush array and subarray (~150 ns a read on Bun's JavaScriptCore).
    const t = this.#transport;
    if (t.writeRange && !this.#callbacks && !this.#watch && !(this.#flags & (F_ENDED | F_CLOSED))) {
      const n = this.conn.takeOutgoingRange();
      if (n >= 0) {
        this.unflushedBytes = 0;
        if (n > 0) {
          if (!t.writeRange(this.conn.outgoingRangeBytes, this.conn.outgoingRangeOffset, n) && !(this.#flags & F_CONGESTED) && !t.readsWhileCongested) {
            this.#flags |= F_CONGESTED;
            t.pauseReading?.(true);
          }
          if (t.consumed?.()) this.conn.outgoingConsumed();
        }
        return this.#afterFlush();
      }
    }
    const chunks = this.conn.takeOutgoing();
    this.unflushedBytes = 0;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (chunks.length > 0 && !(this.#flags & (F_ENDED | F_CLOSED))) {
      if (this.#watch) for (const c of chunks) this.#watch.wrote(c.length);
      let done: ((err?: Error | null) => void) | undefined;
      if (callbacks) {
        done = (err) => {
          for (const cb of callbacks) cb(err ?? undefined);
        };
        if (!this.#transport.reportsWrites) {
          const run = done;
          done = undefined;
          queueMicrotask(() => run());
        }
      }
      if (!this.#transport.write(chunks, done) && !(this.#flags & F_CONGESTED) && !this.#transport.readsWhileCongested) {
        // The peer sends faster than it reads our replies: stop reading it until it catches up (a
        // server; a client reads on, see Transport.readsWhileCongested).
        this.#flags |= F_CONGESTED;
        this.#transport.pauseReading?.(true);
      }
      if (this.#transport.consumed?.()) this.conn.outgoingConsumed();
    } else if (callbacks) {
      const err = new Error("WebSocket is not open");
      queueMicrotask(() => {
        for (const cb of callbacks) cb(err);
      });
    }
    this.#afterFlush();
  }

  /** After a flush: end or keep the timers, and watch what the transport still holds. */
  #afterFlush(): void {
    if (this.#flags & F_CLOSED) return;
    if (this.conn.transportShouldClose) this.#end();
    else this.#scheduleTimer();
    if (!this.#watch) {
      const pending = this.#transport.pending?.() ?? 0;
      if (pending === 0) return;
      this.#watch = this.#makeWatch(pending);
    }
    this.#watch.look();
  }

  #end(): void {
    if (this.#flags & F_ENDED) return;
    this.#flags |= F_ENDED;
    this.#timer?.clear();
    this.#transport.end();
    if (this.#flags & F_CLOSED) return;
    // A peer that never closes its side must not hold the transport forever; one still taking the
    // bytes we queued is given the time it needs (the progress watch covers one that stops).
    const linger = (this.#timer = new WheelTimer(() => {
      if (this.#flags & F_CLOSED) return;
      if (this.#transport.pending?.() && this.#watch?.running) linger.set(LINGER_MS);
      else this.#transport.destroy();
    }));
    linger.set(LINGER_MS);
  }

  /** Closes the transport at once, without a close handshake. */
  destroy(): void {
    this.#timer?.clear();
    this.#watch?.stop();
    this.#transport.destroy();
  }

  #scheduleTimer(): void {
    const delay = this.conn.nextDeadline();
    if (delay === undefined) return void (this.#timer?.clear(), (this.#timer = undefined));
    // One set for sooner stays (the deadline moved later, as each message received moves keepalive
    // and idleness): #onTimer() then finds nothing due and sets it again. No work per message.
    (this.#timer ??= new WheelTimer(() => this.#onTimer())).by(delay);
  }

  #onTimer(): void {
    // A close frame still queued behind data the peer is taking is not timed out: its timeout
    // restarts when the transport drains (drained() → conn.outgoingFlushed()).
    if (this.conn.state === "closing" && this.#transport.pending?.()) return;
    this.conn.tick();
    this.pump();
  }
}
