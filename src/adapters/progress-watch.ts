// Bytes that are still draining to a peer that takes them are never cut off by a timer: a peer is
// dropped for not reading only when it made no progress for `stallTimeout` while it had to (too
// much queued for it, or we are closing). This watch is the one timer that decides that.
import { WebSocketError } from "../protocol/errors.js";
import { WheelTimer } from "./timer-wheel.js";
import type { Transport } from "./transport.js";

export interface DriverLimits {
  /** Bytes queued in the transport above which a peer must keep taking bytes (default 64 MiB). */
  maxPendingBytes?: number;
  /** How long such a peer, or one we are closing on, may take no bytes at all (default 30 s). */
  stallTimeout?: number;
}

/** Default bound on bytes queued toward a peer before it must show progress (README, Reliability). */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
export const DEFAULT_STALL_TIMEOUT = 30_000;


/** The peer took no bytes for `stallTimeout` while too much was queued for it, or while closing. */
export class StalledPeerError extends WebSocketError {
  constructor(pending: number, ms: number) {
    super(`peer is not reading: ${pending} bytes queued, none taken for ${ms} ms`, "WS_ERR_PEER_NOT_READING", 1006);
  }
}

export class ProgressWatch {
  /** Bytes handed to the transport, and how many had been taken at the last look. */
  #written = 0;
  #takenAtLastLook = -1;
  /** Made when first needed: most connections are never watched. */
  #timer: WheelTimer | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly maxPendingBytes: number,
    readonly stallTimeout: number,
    /** Whether the peer must drain whatever it has queued (we are closing). */
    private readonly mustDrain: () => boolean,
    /** The peer took nothing for a whole stallTimeout, with `pending` bytes queued for it. */
    private readonly onStall: (pending: number) => void,
    /** Bytes already waiting when the watch is made (counted as written). */
    pending = 0,
  ) {
    this.#written = pending;
  }

  /** `n` more bytes were handed to the transport. */
  wrote(n: number): void {
    this.#written += n;
  }

  get running(): boolean {
    return this.#timer?.pending === true;
  }

  /** Starts watching if the peer must now show progress: over the bound, or closing. */
  look(): void {
    if (this.#timer?.pending) return;
    const pending = this.transport.pending?.() ?? 0;
    if (pending === 0) return;
    if (pending <= this.maxPendingBytes && !this.mustDrain()) return;
    this.#takenAtLastLook = this.#written - pending;
    (this.#timer ??= new WheelTimer(() => this.#check())).set(this.stallTimeout);
  }

  #check(): void {
    const pending = this.transport.pending?.() ?? 0;
    if (pending === 0) return;
    if (this.#written - pending === this.#takenAtLastLook) return this.onStall(pending);
    this.look();
  }

  stop(): void {
    this.#timer?.clear();
  }
}
