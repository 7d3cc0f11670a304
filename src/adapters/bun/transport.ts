// The Bun transport: a socket of Bun.listen / Bun.connect (TCP or TLS) under the generic driver,
// through Bun's socket handlers. Bun's write() may take only part of the bytes: the rest waits for
// 'drain'.
import { concatBytes, copyBytes } from "../../core/bytes.js";
import type { Transport } from "../transport.js";
import type { WebSocketConnection } from "../socket.js";
import type { UpgradeGate } from "../upgrade-gate.js";

export interface BunSocket {
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(on: boolean): void;
  /** The socket's transport, which also holds its WebSocket (one object per socket, not two). */
  data: BunTransport | undefined;
}
export interface SocketHandlers {
  open(s: BunSocket): void;
  data(s: BunSocket, d: Uint8Array): void;
  drain(s: BunSocket): void;
  /** The peer sent FIN (with allowHalfOpen: the socket stays writable until we end it). */
  end?(s: BunSocket): void;
  close(s: BunSocket): void;
  error?(s: BunSocket, e: Error): void;
  /** TLS: the handshake finished; `authorizationError` says why the peer's certificate was refused. */
  handshake?(s: BunSocket, success: boolean, authorizationError: Error | null): void;
}
/** The part of the Bun namespace we use (looked up when called: the module also loads elsewhere). */
export interface BunApi {
  listen(o: { hostname: string; port: number; socket: SocketHandlers; tls?: { cert: string; key: string }; reusePort?: boolean; allowHalfOpen?: boolean }): { port: number; hostname: string; stop(closeActive?: boolean): void };
  connect(o: { hostname: string; port: number; socket: SocketHandlers; tls?: boolean | { ca?: string | string[]; serverName?: string }; allowHalfOpen?: boolean }): Promise<BunSocket>;
}
export const bun = (): BunApi => (globalThis as unknown as { Bun: BunApi }).Bun;

/** Chunks this large are written on their own: a second syscall costs less than copying them. */
const WRITE_ALONE = 64 * 1024;

export class BunTransport implements Transport {
  /** Bun's write() sends synchronously and keeps nothing; what it does not take is copied here. */
  consumed(): boolean {
    return true;
  }
  // backlog and ending are written only by the sockets that fill their send buffer: not fields (read
  // as undefined until then), so an idle transport has three and takes a 48 B JSC cell, not 64 B.
  // Not prototype defaults either: JSC sizes a small object by its fields plus its prototype's
  // non-function properties.
  /** Bytes Bun did not take, copied. */
  declare private backlog: Uint8Array | undefined;
  /** end() came while a backlog waited: the socket ends once it is written. */
  declare private ending: boolean | undefined;
  /** Bun's write() answered -1: the socket is gone (see lost()). */
  declare private gone: boolean | undefined;
  /** Until the request head is complete, a server's bytes go through its gate (then undefined). */
  gate: UpgradeGate | undefined;
  /** The WebSocket this transport carries (set by the adapter once both exist). */
  ws!: WebSocketConnection;
  constructor(private readonly s: BunSocket) {
    s.data = this;
  }
  write(chunks: Uint8Array[]): boolean {
    // The common case, one coalesced chunk and nothing waiting: no arrays made on the way.
    if (chunks.length === 1 && !this.backlog) {
      const bytes = chunks[0]!;
      const n = this.s.write(bytes);
      if (n >= bytes.length) return true;
      if (n < 0) return this.lost();
      this.backlog = bytes.slice(Math.max(0, n));
      return false;
    }
    const all = this.backlog ? [this.backlog, ...chunks] : chunks;
    this.backlog = undefined;
    // Small frames were coalesced by the connection; only payloads over 64 KiB arrive apart.
    let start = 0;
    for (let i = 0; i <= all.length; i++) {
      if (i < all.length && all[i]!.length < WRITE_ALONE) continue;
      // Write the run of small chunks before i, then chunk i alone.
      const runs = i > start ? [concatBytes(all.slice(start, i))] : [];
      if (i < all.length) runs.push(all[i]!);
      for (let r = 0; r < runs.length; r++) {
        const bytes = runs[r]!;
        const n = this.s.write(bytes);
        if (n < 0) return this.lost();
        if (n < bytes.length) {
          this.backlog = copyBytes([bytes.subarray(Math.max(0, n)), ...runs.slice(r + 1), ...all.slice(i + 1)]);
          return false;
        }
      }
      start = i + 1;
    }
    return true;
  }
  /** write([bytes.subarray(offset, offset + length)]) without making the subarray: Bun's write takes the range. */
  writeRange(bytes: Uint8Array, offset: number, length: number): boolean {
    if (this.backlog) return this.write([bytes.subarray(offset, offset + length)]);
    const n = this.s.write(bytes, offset, length);
    if (n >= length) return true;
    if (n < 0) return this.lost();
    this.backlog = bytes.slice(offset + Math.max(0, n), offset + length);
    return false;
  }
  /** Writes the backlog; true when it is all out. */
  drain(): boolean {
    const b = this.backlog;
    if (!b) return true;
    // The backlog is our own copy: what Bun does not take now stays a view of it. Through write()
    // it was copied again at each drain, the whole rest each time (24 MB to a reader taking ~3 MB/s:
    // the Bun server's CPU time 0.12-0.14 s -> 0.05-0.06 s).
    const n = this.s.write(b);
    if (n < 0) return this.lost();
    if (n < b.length) {
      this.backlog = b.subarray(Math.max(0, n));
      return false;
    }
    this.backlog = undefined;
    if (this.ending) this.s.end();
    return true;
  }
  /**
   * Bun's write() answered -1: the socket is closed or failed. A peer's reset that comes while
   * reading is paused (the driver pauses a congested socket) can leave Bun calling neither `close`
   * nor `error` (Bun 1.4.5: 36-58 of 300 subscribers reset in a publish storm stayed OPEN for good,
   * each holding 16 MiB), while `drain` and write() answer -1: the transport closes itself, after
   * the flush that found it (not from inside it). Nothing more is written.
   */
  private lost(): false {
    this.backlog = undefined;
    if (this.gone) return false;
    this.gone = true;
    queueMicrotask(() => {
      this.destroy();
      this.ws.driver.transportClosed();
    });
    return false;
  }
  pending(): number {
    return this.backlog?.length ?? 0;
  }
  /** Bun sockets stop and restart reading with pause()/resume() where the version has them. */
  pauseReading(paused: boolean): void {
    const s = this.s as BunSocket & { pause?(): void; resume?(): void };
    if (paused) s.pause?.();
    else s.resume?.();
  }
  /**
   * Ends the socket once the backlog is written: Bun's end() drops what it was not given, so ending
   * at once lost the last echoes and the close reply to a peer that reads slowly.
   */
  end(): void {
    if (this.backlog) this.ending = true;
    else this.s.end();
  }
  destroy(): void {
    (this.s.terminate ?? this.s.end).call(this.s);
  }
}

/**
 * The socket handlers of a Bun.listen or Bun.connect: each socket finds its transport in `s.data`. A TLS
 * client passes `onHandshake`: Bun drops what is written before the TLS handshake completes when
 * this handler is set, and without it a refused certificate closes the socket without saying why.
 */
export function handlers(onOpen: (s: BunSocket) => void, onHandshake?: (s: BunSocket, authorizationError: Error | null) => void): SocketHandlers {
  const h: SocketHandlers = {
    open: onOpen,
    data: (s, d) => {
      // A server's first bytes go through its UpgradeGate until the request head is complete.
      const t = s.data;
      if (!t) return;
      const gate = t.gate;
      // Each read is a fresh buffer no one else holds: lent, so large binary messages are views of it.
      if (!gate) t.ws.driver.receive(d, true);
      else if (gate.push(d)) t.gate = undefined;
    },
    drain: (s) => {
      const t = s.data;
      if (t?.drain()) t.ws.driver.drained();
    },
    // The peer's FIN (sockets are opened with allowHalfOpen): what is queued for it still goes out,
    // then the socket ends, as a Node socket does. Without allowHalfOpen Bun closed both sides at
    // the FIN and dropped the backlog: a peer's close frame then FIN lost the last echoes and our
    // close reply (test/runtime-flow.test.ts, half-close).
    end: (s) => s.data?.end(),
    close: (s) => s.data?.ws.driver.transportClosed(),
    error: () => {},
  };
  if (onHandshake) h.handshake = (s, _ok, authorizationError) => onHandshake(s, authorizationError);
  return h;
}
