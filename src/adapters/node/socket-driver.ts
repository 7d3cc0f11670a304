// The Node transport: a net.Socket (or any Duplex) under the generic ConnectionDriver. No closures
// per connection: the transport is a class, and the socket's listeners are shared functions that
// find their driver on the socket (Node calls listeners with the emitter as `this`). That keeps an
// idle connection's JS heap small (heap snapshot of 1 000 connections: ~0.9 KB each went to
// closures and their contexts).
import type { Duplex } from "node:stream";
import type { Connection } from "../../protocol/connection.js";
import { ConnectionDriver, type DriverHooks, type Transport } from "../driver.js";
import { readIntoWindow } from "./direct-reads.js";

/** Default bound on bytes queued in a socket that the peer does not read (see README, Security). */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

const kDriver = Symbol("wasmsocket.driver");
type DrivenSocket = Duplex & { [kDriver]: ConnectionDriver };

class SocketTransport implements Transport {
  // Frames up to 64 KiB are coalesced into one buffer (one write call, not one per chunk)...
  readonly vectored = false;

  constructor(
    private readonly socket: Duplex,
    private readonly maxPendingBytes: number,
  ) {}

  // ...which the connection reuses once Node has handed every byte to the kernel: a write that
  // completes at once leaves nothing queued and keeps no reference to the buffer.
  consumed(): boolean {
    return this.socket.writableLength === 0;
  }

  write(chunks: Uint8Array[]): boolean {
    const socket = this.socket;
    if (socket.destroyed) return true;
    let ok: boolean;
    if (chunks.length === 1) {
      ok = socket.write(chunks[0]!);
    } else {
      socket.cork();
      for (const c of chunks) socket.write(c);
      socket.uncork();
      ok = socket.writableLength < socket.writableHighWaterMark;
    }
    // A peer that sends faster than it reads our replies is not read until it catches up...
    if (!ok) socket.pause();
    // ...and one that stops reading altogether is dropped before our queue for it grows unbounded.
    if (socket.writableLength > this.maxPendingBytes) socket.destroy(new Error("peer is not reading: pending bytes over maxPendingBytes"));
    return ok;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function onWindowRead(this: DrivenSocket, n: number): void {
  this[kDriver].receiveFromWindow(n);
}
function onData(this: DrivenSocket, chunk: Buffer): void {
  this[kDriver].receive(chunk);
}
function onDrain(this: DrivenSocket): void {
  this.resume();
  this[kDriver].drained();
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

export function driveSocket(socket: Duplex, conn: Connection, hooks: DriverHooks, maxPendingBytes = DEFAULT_MAX_PENDING_BYTES): ConnectionDriver {
  const driver = new ConnectionDriver(conn, new SocketTransport(socket, maxPendingBytes), hooks);
  const driven = socket as DrivenSocket;
  driven[kDriver] = driver;
  // Received bytes go straight into core memory where Node allows it (handshake bytes included: no
  // 64 KiB read buffer is allocated for them either); otherwise they come as 'data' chunks.
  driver.directReads = readIntoWindow(driven, conn.receiveWindow(), onWindowRead);
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("error", onError);
  socket.on("end", onEnd);
  socket.on("close", onClose);
  return driver;
}
