// The WebSocket-only listeners of wasmsocket/deno and wasmsocket/bun (serve() without `fetch`) answer
// a well-formed HTTP/1.x request that asks for no upgrade (a browser opening the URL, a health check)
// with 426 Upgrade Required and `Upgrade: websocket` (RFC 9110 §15.5.22), as ws does on its own
// listener; the core alone would answer 400. The first bytes are held until the request head is
// complete, then either go on to the connection as they came (upgrade requests, and anything
// malformed, which the core answers) or the request gets its 426. Upgrade requests are parsed twice
// (here and by the core): a few microseconds per handshake.
import { concatBytes, copyBytes } from "../core/bytes.js";
import { DEFAULT_LIMITS } from "../protocol/limits.js";
import { HeadParser, headerList } from "../protocol/handshake/http.js";
import type { ConnectionOptions } from "../protocol/connection.js";
import type { WebSocketConnection } from "./socket.js";

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class UpgradeGate {
  readonly #parser: HeadParser;
  readonly #held: Uint8Array[] = [];
  readonly #ws: WebSocketConnection;

  constructor(ws: WebSocketConnection, options: ConnectionOptions) {
    this.#ws = ws;
    this.#parser = new HeadParser({ maxBytes: options.maxHandshakeBytes ?? DEFAULT_LIMITS.maxHandshakeBytes, maxHeaders: options.maxHeaders ?? DEFAULT_LIMITS.maxHeaders });
  }

  /** Bytes from the peer (the caller may reuse their memory). True once the gate is done: later bytes go straight to the driver. */
  push(bytes: Uint8Array): boolean {
    let head;
    try {
      const parsed = this.#parser.push(bytes);
      if (!parsed) {
        this.#held.push(copyBytes([bytes]));
        return false;
      }
      head = parsed.head;
    } catch {
      // Too large or malformed: the core finds the same fault and answers it (431, 400).
    }
    const driver = this.#ws.driver;
    const plain = head && METHOD.test(head.startLine[0]) && /^HTTP\/1\.[01]$/.test(head.startLine[2]) && !headerList(head, "upgrade").some((t) => t.toLowerCase() === "websocket");
    if (plain) {
      driver.conn.reject(426, { Upgrade: "websocket" });
      driver.requestFlush();
    } else {
      this.#held.push(bytes);
      driver.receive(concatBytes(this.#held));
    }
    this.#held.length = 0;
    return true;
  }
}
