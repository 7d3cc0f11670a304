// How connection events become ws-style events ('message' (data, isBinary), 'close' (code, reason,
// wasClean)...), shared by the Node WebSocket and the runtime-neutral WebSocketConnection.
import type { ConnectionEvent } from "../protocol/events.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";

export interface SocketEvents<Bytes> {
  open: [];
  message: [data: string | Bytes, isBinary: boolean];
  /**
   * With `fragments: true`: each piece of a data message as it arrives, instead of 'message'. Text
   * comes as its UTF-8 bytes (a piece may end inside a character); `first` starts a message and
   * `last` ends it. Compressed (permessage-deflate) messages still arrive whole, as 'message'.
   */
  fragment: [data: Bytes, isBinary: boolean, first: boolean, last: boolean];
  ping: [data: Bytes];
  pong: [data: Bytes];
  /** `wasClean`: both close frames were exchanged before the transport closed. */
  close: [code: number, reason: string, wasClean: boolean];
  error: [error: Error];
  drain: [];
}

export const READY_STATES = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

/** What dispatchEvent delivers to: a socket object (no closures made per event). */
export interface EventSink {
  /** Called with exactly the arguments of the event (none for 'open', two for 'message', four for 'fragment'...). */
  emit(name: string, ...args: unknown[]): unknown;
  hasErrorListener(): boolean;
  /** Server role: decides on the upgrade request. */
  onRequest: ((request: UpgradeRequest) => void) | undefined;
}

/** Emits `ev` on `sink`; a server's upgrade request goes to `sink.onRequest`. */
export function dispatchEvent(ev: ConnectionEvent, sink: EventSink): void {
  switch (ev.type) {
    case "request":
      sink.onRequest?.(ev.request);
      break;
    case "message":
      sink.emit("message", ev.data, ev.binary);
      break;
    case "fragment":
      sink.emit("fragment", ev.data, ev.binary, ev.first, ev.last);
      break;
    case "ping":
    case "pong":
      sink.emit(ev.type, ev.data);
      break;
    case "open":
      sink.emit("open");
      break;
    case "close":
      sink.emit("close", ev.code, ev.reason, ev.wasClean);
      break;
    case "error":
      // Like ws: an error nobody listens to is not thrown; 'close' always follows.
      if (sink.hasErrorListener()) sink.emit("error", ev.error);
      break;
  }
}

/** Reports an exception of the application's (a listener, a hook) as Node reports an uncaught one, after our own work is done. */
export function rethrowLater(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}
