// Drives a sans-I/O Connection over a Node duplex socket: bytes in, events dispatched, bytes out.
// Every frame of one read is handled in one pass, and everything the application sends while those
// events are dispatched leaves in one write (DESIGN.md §2: one read in, one write out).
import type { Duplex } from "node:stream";
import type { Connection } from "../../protocol/connection.js";
import type { ConnectionEvent } from "../../protocol/events.js";

export interface DriverHooks {
  onEvent(event: ConnectionEvent): void;
  onDrain(): void;
}

export class SocketDriver {
  private dispatching = false;
  private flushQueued = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private ended = false;
  /** True while the socket's buffer is over its high-water mark. */
  congested = false;

  constructor(
    readonly socket: Duplex,
    readonly conn: Connection,
    private readonly hooks: DriverHooks,
  ) {
    socket.on("data", (chunk: Buffer) => {
      conn.receive(chunk);
      this.pump();
    });
    socket.on("drain", () => {
      this.congested = false;
      this.hooks.onDrain();
    });
    socket.on("error", () => {
      // 'close' follows; the connection reports 1006.
    });
    socket.on("end", () => {
      // The peer half-closed: we have nothing more to read, so finish our side too.
      this.endSocket();
    });
    socket.on("close", () => {
      this.clearTimer();
      conn.transportClosed();
      this.pump();
    });
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

  /** Requests a flush of what the application queued outside an event dispatch. */
  requestFlush(): void {
    if (this.dispatching || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.pump();
    });
  }

  flush(): void {
    const socket = this.socket;
    const chunks = this.conn.takeOutgoing();
    if (chunks.length > 0 && !socket.destroyed && !this.ended) {
      let ok: boolean;
      if (chunks.length === 1) {
        ok = socket.write(chunks[0]!);
      } else {
        socket.cork();
        for (const c of chunks) socket.write(c);
        socket.uncork();
        ok = socket.writableLength < socket.writableHighWaterMark;
      }
      if (!ok) this.congested = true;
    }
    if (this.conn.transportShouldClose) {
      this.endSocket();
    } else {
      this.scheduleTimer();
    }
  }

  private endSocket(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer();
    const socket = this.socket;
    socket.end();
    // A peer that never closes its side must not hold the socket forever.
    const t = setTimeout(() => socket.destroy(), 5_000);
    t.unref?.();
    socket.once("close", () => clearTimeout(t));
  }

  /** Closes the transport at once, without a close handshake. */
  destroy(): void {
    this.clearTimer();
    this.socket.destroy();
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
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
