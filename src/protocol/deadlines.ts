// The connection's timers as data: when the opening handshake, the close handshake, keepalive and
// idleness are due, measured on the injected clock. The connection asks what is due and acts on it;
// the adapter asks for the delay until the next one. Without a clock there are no deadlines.
import type { Clock } from "./events.js";
import type { Settings } from "./options.js";

/** What tick() must do now. */
export const Due = {
  Nothing: 0,
  /** The opening handshake took longer than handshakeTimeout. */
  HandshakeTimeout: 1,
  /** Our close frame went unanswered for closeTimeout: drop the transport. */
  CloseTimeout: 2,
  /** Nothing received for idleTimeout: close with 1001. */
  Idle: 3,
  /** Nothing received for pingInterval: send a keepalive ping. */
  Ping: 4,
  /** The keepalive ping went unanswered for pongTimeout. */
  PongTimeout: 5,
} as const;
export type Due = (typeof Due)[keyof typeof Due];

export class Deadlines {
  #clock: Clock | undefined;
  readonly #s: Settings;
  /** Times on the clock, 0 = not running. */
  #handshake = 0;
  #close = 0;
  #lastReceived = 0;
  #pingSentAt = 0;

  constructor(clock: Clock | undefined, settings: Settings) {
    this.#s = settings;
    if (clock) this.useClock(clock, true);
  }

  get hasClock(): boolean {
    return this.#clock !== undefined;
  }

  /** Starts measuring on `clock`: from now, the opening handshake (if not over) has its timeout. */
  useClock(clock: Clock, opening: boolean): void {
    this.#clock = clock;
    this.#lastReceived = clock.now();
    if (opening && this.#s.handshakeTimeout > 0) this.#handshake = this.#lastReceived + this.#s.handshakeTimeout;
  }

  /** The peer sent something: it is alive, and any keepalive ping is answered. */
  received(): void {
    if (this.#clock) this.#lastReceived = this.#clock.now();
    this.#pingSentAt = 0;
  }

  /** The opening handshake completed. */
  opened(): void {
    this.#handshake = 0;
    this.received();
  }

  /** We sent our close frame: the peer has closeTimeout to answer. */
  closeSent(): void {
    if (this.#clock) this.#close = this.#clock.now() + this.#s.closeTimeout;
  }

  /**
   * Everything queued for the peer has left: a close frame that waited behind a large send starts
   * its timeout only now (RFC 6455 §7.1.1: the closing side waits for the peer's answer, not for
   * its own backlog).
   */
  flushed(): void {
    if (this.#close) this.closeSent();
  }

  /** Milliseconds until the next deadline (0 if one is due), or undefined when none runs. */
  delay(open: boolean): number | undefined {
    const at = this.#next(open);
    return at === undefined ? undefined : Math.max(0, at - this.#clock!.now());
  }

  #next(open: boolean): number | undefined {
    if (!this.#clock) return undefined;
    const s = this.#s;
    let d = Infinity;
    if (this.#handshake) d = this.#handshake;
    if (this.#close) d = Math.min(d, this.#close);
    if (open) {
      if (s.pingInterval > 0) d = Math.min(d, this.#pingSentAt ? this.#pingSentAt + s.pongTimeout : this.#lastReceived + s.pingInterval);
      if (s.idleTimeout > 0) d = Math.min(d, this.#lastReceived + s.idleTimeout);
    }
    return d === Infinity ? undefined : d;
  }

  /** What is due now, in order of precedence; a keepalive ping is noted as sent. */
  due(open: boolean): Due {
    if (!this.#clock) return Due.Nothing;
    const now = this.#clock.now();
    const s = this.#s;
    if (this.#handshake && now >= this.#handshake) return Due.HandshakeTimeout;
    if (this.#close && now >= this.#close) return Due.CloseTimeout;
    if (!open) return Due.Nothing;
    if (s.idleTimeout > 0 && now >= this.#lastReceived + s.idleTimeout) return Due.Idle;
    if (s.pingInterval > 0) {
      if (this.#pingSentAt) return now >= this.#pingSentAt + s.pongTimeout ? Due.PongTimeout : Due.Nothing;
      if (now >= this.#lastReceived + s.pingInterval) {
        this.#pingSentAt = now;
        return Due.Ping;
      }
    }
    return Due.Nothing;
  }
}
