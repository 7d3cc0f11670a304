// What a connection reports to the application: bytes in, these out.
import type { WebSocketError } from "./errors.js";
import type { UpgradeRequest } from "./handshake/server.js";

export type ConnectionEvent =
  /** Server role: a valid upgrade request arrived; answer with accept() or reject(). */
  | { type: "request"; request: UpgradeRequest }
  | { type: "open"; protocol: string; extensions: string }
  /** A whole message: text as a string, binary as bytes. */
  | { type: "message"; data: string | Uint8Array; binary: boolean }
  /** With `fragments: true`: a piece of a message as it arrives (`last` ends the message). */
  | { type: "fragment"; data: Uint8Array; binary: boolean; first: boolean; last: boolean }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  /** The peer's close frame arrived (the close handshake has started or completed). */
  | { type: "closing"; code: number; reason: string }
  /** The connection is over: the transport closed. */
  | { type: "close"; code: number; reason: string; wasClean: boolean }
  | { type: "error"; error: WebSocketError };

export type ReadyState = "connecting" | "open" | "closing" | "closed";

/** Time source, injected so the state machine never reads a clock itself. */
export interface Clock {
  now(): number;
}
