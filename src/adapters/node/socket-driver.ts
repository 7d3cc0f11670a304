// The Node transport: a net.Socket (or any Duplex) under the generic ConnectionDriver.
import type { Duplex } from "node:stream";
import type { Connection } from "../../protocol/connection.js";
import { ConnectionDriver, type DriverHooks, type Transport } from "../driver.js";
import { readIntoWindow } from "./direct-reads.js";

/** Default bound on bytes queued in a socket that the peer does not read (see README, Security). */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

export function driveSocket(socket: Duplex, conn: Connection, hooks: DriverHooks, maxPendingBytes = DEFAULT_MAX_PENDING_BYTES): ConnectionDriver {
  const transport: Transport = {
    // Frames up to 64 KiB are coalesced into one buffer (one write call, not one per chunk)...
    vectored: false,
    // ...which the connection reuses once Node has handed every byte to the kernel: a write that
    // completes at once leaves nothing queued and keeps no reference to the buffer.
    consumed: () => socket.writableLength === 0,
    write(chunks) {
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
      if (socket.writableLength > maxPendingBytes) socket.destroy(new Error("peer is not reading: pending bytes over maxPendingBytes"));
      return ok;
    },
    end: () => socket.end(),
    destroy: () => socket.destroy(),
  };
  const driver = new ConnectionDriver(conn, transport, hooks);
  // Received bytes go straight into core memory where Node allows it (handshake bytes included: no
  // 64 KiB read buffer is allocated for them either); otherwise they come as 'data' chunks.
  driver.directReads = readIntoWindow(socket, conn.receiveWindow(), (n) => driver.receiveFromWindow(n));
  socket.on("data", (chunk: Buffer) => driver.receive(chunk));
  socket.on("drain", () => {
    socket.resume();
    driver.drained();
  });
  socket.on("error", () => {
    // 'close' follows; the connection reports 1006.
  });
  // The peer half-closed: nothing more to read, so finish our side too.
  socket.on("end", () => socket.end());
  socket.on("close", () => driver.transportClosed());
  return driver;
}
