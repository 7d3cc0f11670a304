// Any duplex byte stream as a WHATWG { readable, writable } pair: Deno.Conn, a browser or service
// worker transport, WebTransport streams, a custom tunnel, a test's TransformStreams. Reads feed the
// connection; each batch of outgoing frames is one write.
import type { Connection } from "../protocol/connection.js";
import { concatBytes } from "../core/bytes.js";
import { pakoEngine } from "../protocol/extensions/pako-engine.js";
import type { Transport } from "./driver.js";
import { acceptOn, type UpgradeOptions } from "./runtime-server.js";
import { WebSocketConnection } from "./socket.js";

export interface StreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/**
 * Runs `conn` over `pair` and returns its ws-style socket. The role and the handshake are the
 * connection's: `Connection.client(url, …)` sends the upgrade request (on the next microtask, so
 * listeners added now see 'open'); `Connection.server(…)` answers the client's request as
 * `options` say (the same `verifyClient`, `handleProtocols` and `perMessageDeflate` as serve() in
 * wasmsocket/deno and wasmsocket/bun; by default every request is accepted, without extensions);
 * `Connection.open(role, …)` skips the handshake, and 'open' fires on the next microtask.
 * Deflate runs on `perMessageDeflate.engine`, else pako. The readable ending or erroring is the
 * transport closing; the socket ends the writable after the close handshake, and aborts it on
 * terminate().
 */
export function overStreams(pair: StreamPair, conn: Connection, options: UpgradeOptions = {}): WebSocketConnection {
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
  if (conn.role === "server" && conn.state === "connecting") acceptOn(ws, conn, options, pakoEngine, () => {});
  // The client's upgrade request, or an already open connection's 'open', after the caller's listeners are on.
  ws.driver.requestFlush();
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
