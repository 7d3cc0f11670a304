// Drives a sans-I/O Connection over any transport: bytes in, events dispatched, bytes out.
// Every frame of one read is handled in one pass, and everything the application sends while those
// events are dispatched leaves in one write (DESIGN.md §2: one read in, one write out). Runtime
// adapters supply a Transport and call receive() / transportClosed() / drained().
import type { Connection } from "../protocol/connection.js";
import type { ConnectionEvent } from "../protocol/events.js";

export interface Transport {
  /** Writes the chunks in order; false when the transport is congested (wait for drained()). */
  write(chunks: Uint8Array[]): boolean;
  /** True when the transport writes several chunks in one call (writev); otherwise it joins them. */
  readonly vectored?: boolean;
  /** True when the chunks of the last write() are no longer referenced (sent, or copied aside). */
  consumed?(): boolean;
  /** Closes after what was written is flushed. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

export interface DriverHooks {
  onEvent(event: ConnectionEvent): void;
  onDrain?(): void;
}

/** How long a transport may linger after we ended it before it is destroyed. */
const LINGER_MS = 5_000;

export class ConnectionDriver {
  private dispatching = false;
  private flushQueued = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private ended = false;
  private closed = false;
  /** Whether the transport reads into conn.receiveWindow() (reported for tests and diagnostics). */
  directReads = false;
  /** True while the transport reports congestion. */
  congested = false;

  constructor(
    readonly conn: Connection,
    private readonly transport: Transport,
    private readonly hooks: DriverHooks,
  ) {
    if (!transport.vectored) conn.coalesceOutgoing();
  }

  /** The transport delivered bytes. */
  receive(bytes: Uint8Array): void {
    this.conn.receive(bytes);
    this.pump();
  }

  /** The transport read `n` bytes straight into conn.receiveWindow(). */
  receiveFromWindow(n: number): void {
    this.conn.receiveFromWindow(n);
    this.pump();
  }

  /** The transport closed (either side, cleanly or not). */
  transportClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.conn.transportClosed();
    this.pump();
  }

  /** The transport can take more bytes again. */
  drained(): void {
    this.congested = false;
    this.hooks.onDrain?.();
  }

  /** Dispatches pending events, then writes everything produced, then acts on the state. */
  pump(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let events = this.conn.takeEvents(); events.length > 0; events = this.conn.takeEvents()) {
        for (const ev of events) this.hooks.onEvent(ev);
      }
    } finally {
      this.dispatching = false;
    }
    this.flush();
  }

  // What the application does through a socket: act on the connection, then flush (coalesced).

  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView, options: { binary?: boolean; compress?: boolean } = {}): boolean {
    const sent = this.conn.send(data, options);
    this.requestFlush();
    return sent;
  }

  ping(data?: Uint8Array | string): void {
    this.conn.ping(data);
    this.requestFlush();
  }

  pong(data?: Uint8Array | string): void {
    this.conn.pong(data);
    this.requestFlush();
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code, reason);
    this.requestFlush();
  }

  /** Requests a flush of what the application queued outside an event dispatch. */
  requestFlush(): void {
    if (this.dispatching || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.pump();
    });
  }

  private flush(): void {
    const chunks = this.conn.takeOutgoing();
    if (chunks.length > 0 && !this.ended && !this.closed) {
      if (!this.transport.write(chunks)) this.congested = true;
      if (this.transport.consumed?.()) this.conn.outgoingConsumed();
    }
    if (this.conn.transportShouldClose) this.end();
    else this.scheduleTimer();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer();
    this.transport.end();
    if (this.closed) return;
    // A peer that never closes its side must not hold the transport forever.
    const t = setTimeout(() => this.transport.destroy(), LINGER_MS);
    (t as { unref?: () => void }).unref?.();
  }

  /** Closes the transport at once, without a close handshake. */
  destroy(): void {
    this.clearTimer();
    this.transport.destroy();
  }

  private scheduleTimer(): void {
    const at = this.conn.nextDeadline();
    if (at === undefined) return this.clearTimer();
    if (this.timer && this.timerAt === at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.conn.tick();
      this.pump();
    }, Math.max(0, at - Date.now()));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
