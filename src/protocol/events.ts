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

/**
 * How a Connection keeps its events until they are taken (for the adapters, not the public API;
 * not marked internal, since stripInternal would drop it from the declarations that name it): a
 * whole message whose data says what it is, a text message delivered as a string or a binary one
 * as bytes, is kept as its data alone; everything else is a ConnectionEvent. takeEvents() hands out
 * ConnectionEvents only; the driver takes the items (takeItems) and dispatches the bare ones
 * without the object (ConnectionDriver). An event object made per message was ~17 % of our JS per
 * message of a 32 B echo on Bun 1.4.5 (2026-12-02).
 */
export type EventItem = ConnectionEvent | string | Uint8Array;

/** The item a whole message is kept as: its data alone unless text arrives as bytes (textAsBytes). */
export function messageItem(data: string | Uint8Array, binary: boolean): EventItem {
  return binary || typeof data === "string" ? data : { type: "message", data, binary };
}

/** An item as the ConnectionEvent it stands for. */
export function itemEvent(item: EventItem): ConnectionEvent {
  if (typeof item === "string") return { type: "message", data: item, binary: false };
  if (ArrayBuffer.isView(item)) return { type: "message", data: item, binary: true };
  return item;
}
