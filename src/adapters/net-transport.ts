// A transport over a node:net-like socket (a Duplex) for the Deno and Bun servers, whose sockets come
// from their runtime's node:http 'upgrade' event. Unlike the Node adapter's, it never lets the
// connection reuse its outgoing buffer (their write() may keep a reference to the bytes) and never
// reads into core memory (their sockets have no such handle).
import type { Duplex } from "node:stream";
import type { Connection } from "../protocol/connection.js";
import type { Transport } from "./driver.js";
import { WebSocketConnection } from "./socket.js";

const kSocket = Symbol("wasmsocket.socket");
type DrivenSocket = Duplex & { [kSocket]: WebSocketConnection };

class NetTransport implements Transport {
  readonly vectored = false;
  constructor(private readonly socket: Duplex) {}

  /** Nothing queued in the stream: it handed every byte on and keeps no reference to our buffer. */
  consumed(): boolean {
    return this.socket.writableLength === 0;
  }

  write(chunks: Uint8Array[]): boolean {
    const socket = this.socket;
    if (socket.destroyed) return true;
    if (chunks.length === 1) return socket.write(chunks[0]!);
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
    return socket.writableLength < socket.writableHighWaterMark;
  }
  pending(): number {
    return this.socket.writableLength;
  }
  pauseReading(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

// Shared listeners (no closures per socket): each finds its WebSocket on the socket.
function onData(this: DrivenSocket, chunk: Uint8Array): void {
  this[kSocket].driver.receive(chunk);
}
function onDrain(this: DrivenSocket): void {
  this[kSocket].driver.drained();
}
function onEnd(this: DrivenSocket): void {
  // The peer half-closed: nothing more to read, so finish our side too.
  this.end();
}
function onClose(this: DrivenSocket): void {
  this[kSocket].driver.transportClosed();
}
function onError(): void {
  // 'close' follows; the connection reports 1006.
}

/** Runs `conn` over `socket` and returns its WebSocket. */
export function overNetSocket(socket: Duplex, conn: Connection): WebSocketConnection {
  socket.on("error", onError);
  const ws = new WebSocketConnection(conn, new NetTransport(socket));
  (socket as DrivenSocket)[kSocket] = ws;
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("end", onEnd);
  socket.on("close", onClose);
  return ws;
}
