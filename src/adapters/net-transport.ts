// The Deno and Bun servers' sockets from their runtime's node:http 'upgrade' event (node:net-like
// Duplexes) under a WebSocketConnection, through the Node adapter's SocketTransport. Its consumed()
// (nothing left in the stream's queue) lets the connection reuse its outgoing buffer; checked on
// Deno 2.9 and Bun 1.4, over TCP and TLS, that a buffer overwritten once writableLength is 0 never
// reaches the peer changed (and the burst test in test/runtimes.test.ts turns red when consumed()
// is made to answer true regardless). Without that reuse Bun's 4 KiB echo cost 6.55 µs per message
// instead of ~4.9 (README, "Deno and Bun"). These sockets have no handle to read into core memory.
//
// Nor a live count of what the kernel took of a write in flight (no libuv handle: SocketTransport's
// pending() falls back to writableLength, which counts a write at its full size until all of it is
// out, and one flush of several large sends is one writev). So a large send was one write whose
// progress the watch could not see: a peer reading 8 x 1 MiB at ~3 MB/s while we closed behind it
// was dropped as not reading after a 1 s stallTimeout (5.4 MB taken on Bun, 5.8 MB on Deno; found
// by an outside attack). These sockets get their writes in slices, as an HTTP/2 stream does
// (Http2StreamTransport): the count of bytes waiting falls as the peer takes them.
import type { Duplex } from "node:stream";
import type { Connection } from "../protocol/connection.js";
import { Http2StreamTransport } from "./node/socket-driver.js";
import { WebSocketConnection } from "./socket.js";
import type { DriverLimits } from "./progress-watch.js";

const kSocket = Symbol("wasmsocket.socket");
type DrivenSocket = Duplex & { [kSocket]: WebSocketConnection };

// Shared listeners (no closures per socket): each finds its WebSocket on the socket.
function onData(this: DrivenSocket, chunk: Uint8Array): void {
  this[kSocket].driver.receive(chunk);
}
function onDrain(this: DrivenSocket): void {
  // The socket's own 'drain' counts only once the slices still queued with us are out too.
  (this[kSocket].transport as SlicedTransport).drainedNow();
}
function onEnd(this: DrivenSocket): void {
  // The peer half-closed: nothing more to read, so finish our side too, once our queue is out.
  this[kSocket].transport!.end();
}

class SlicedTransport extends Http2StreamTransport {
  protected override tellDrained(): void {
    (this.socket as DrivenSocket)[kSocket]?.driver.drained();
  }
}
function onClose(this: DrivenSocket): void {
  this[kSocket].driver.transportClosed();
}
function onError(): void {
  // 'close' follows; the connection reports 1006.
}

/** Runs `conn` over `socket` and returns its WebSocket. */
export function overNetSocket(socket: Duplex, conn: Connection, limits?: DriverLimits): WebSocketConnection {
  socket.on("error", onError);
  const ws = new WebSocketConnection(conn, new SlicedTransport(socket), limits);
  (socket as DrivenSocket)[kSocket] = ws;
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("end", onEnd);
  socket.on("close", onClose);
  return ws;
}
