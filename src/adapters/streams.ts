// Any duplex byte stream as a WHATWG { readable, writable } pair: Deno.Conn, a browser or service
// worker transport, a custom tunnel. Reads feed the connection; each batch of outgoing frames is one
// write.
import type { Connection } from "../protocol/connection.js";
import { concatBytes } from "../core/bytes.js";
import type { Transport } from "./driver.js";
import { WebSocketConnection } from "./socket.js";

export interface StreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** Runs `conn` over `pair`; the returned socket emits ws-style events. */
export function overStreams(pair: StreamPair, conn: Connection): WebSocketConnection {
  const writer = pair.writable.getWriter();
  const reader = pair.readable.getReader();
  let closed = false;
  let ws: WebSocketConnection;
  const close = () => {
    if (closed) return;
    closed = true;
    ws.driver.transportClosed();
  };
  const transport: Transport = {
    write(chunks) {
      // One write per batch: frames coalesce into one chunk (and one syscall underneath).
      writer.write(concatBytes(chunks)).catch(() => {});
      const free = writer.desiredSize;
      if (free !== null && free <= 0) {
        writer.ready.then(() => ws.driver.drained(), () => {});
        return false;
      }
      return true;
    },
    end() {
      writer.close().catch(() => {});
      reader.cancel().catch(() => {});
    },
    destroy() {
      writer.abort().catch(() => {});
      reader.cancel().catch(() => {});
      close();
    },
  };
  ws = new WebSocketConnection(conn, transport);
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value?.length) ws.driver.receive(value);
      }
    } catch {
      // a reset: reported below as the transport closing
    }
    close();
  })();
  return ws;
}
