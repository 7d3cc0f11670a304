// The connection's timers as data: when the opening handshake, the close handshake, keepalive and
// idleness are due, measured on the injected clock. The connection asks what is due and acts on it;
// the adapter asks for the delay until the next one. Without a clock there are no deadlines.
import type { Clock, ReadyState } from "./events.js";
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

/**
 * The connection's base class rather than a field (issue 19): an idle connection holds one object
 * less (64 B on Bun). Its methods are protected: the connection's public surface stays its own.
 */
export class Deadlines {
  #clock: Clock | undefined;
  /** The connection's settings (the timeouts and intervals here; the rest is the connection's). */
  protected readonly settings: Settings;
  /**
   * The running timeout, a time on the clock (0 = none): the opening handshake's until the
   * connection opens, then the close handshake's (they never run together).
   */
  #timeout = 0;
  #lastReceived = 0;
  #pingSentAt = 0;

  constructor(clock: Clock | undefined, settings: Settings) {
    this.settings = settings;
    if (clock) this.startClock(clock, true);
  }

  protected get hasClock(): boolean {
    return this.#clock !== undefined;
  }

  /** Starts measuring on `clock`: from now, the opening handshake (if not over) has its timeout. */
  protected startClock(clock: Clock, opening: boolean): void {
    this.#clock = clock;
    this.#lastReceived = clock.now();
    if (opening && this.settings.handshakeTimeout > 0) this.#timeout = this.#lastReceived + this.settings.handshakeTimeout;
  }

  /** The peer sent something: it is alive, and any keepalive ping is answered. */
  protected timeReceived(): void {
    if (this.#clock) this.#lastReceived = this.#clock.now();
    this.#pingSentAt = 0;
  }

  /** The opening handshake completed. */
  protected timeOpened(): void {
    this.#timeout = 0;
    this.timeReceived();
  }

  /** We sent our close frame: the peer has closeTimeout to answer. */
  protected timeCloseSent(): void {
    if (this.#clock) this.#timeout = this.#clock.now() + this.settings.closeTimeout;
  }

  /**
   * Everything queued for the peer has left: a close frame that waited behind a large send starts
   * its timeout only now (RFC 6455 §7.1.1: the closing side waits for the peer's answer, not for
   * its own backlog). Only called once the connection is open.
   */
  protected timeFlushed(): void {
    if (this.#timeout) this.timeCloseSent();
  }

  /** Milliseconds until the next deadline (0 if one is due), or undefined when none runs. */
  protected timeDelay(state: ReadyState): number | undefined {
    const at = this.#next(state === "open");
    return at === undefined ? undefined : Math.max(0, at - this.#clock!.now());
  }

  #next(open: boolean): number | undefined {
    if (!this.#clock) return undefined;
    const s = this.settings;
    let d = Infinity;
    if (this.#timeout) d = this.#timeout;
    if (open) {
      if (s.pingInterval > 0) d = Math.min(d, this.#pingSentAt ? this.#pingSentAt + s.pongTimeout : this.#lastReceived + s.pingInterval);
      if (s.idleTimeout > 0) d = Math.min(d, this.#lastReceived + s.idleTimeout);
    }
    return d === Infinity ? undefined : d;
  }

  /** What is due now, in order of precedence; a keepalive ping is noted as sent. */
  protected timeDue(state: ReadyState): Due {
    if (!this.#clock) return Due.Nothing;
    const now = this.#clock.now();
    const s = this.settings;
    if (this.#timeout && now >= this.#timeout) return state === "connecting" ? Due.HandshakeTimeout : Due.CloseTimeout;
    if (state !== "open") return Due.Nothing;
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
