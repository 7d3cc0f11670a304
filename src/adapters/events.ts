// How connection events become ws-style events ('message' (data, isBinary), 'close' (code, reason)...),
// shared by the Node WebSocket and the runtime-neutral WebSocketConnection.
import type { ConnectionEvent } from "../protocol/events.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";

export interface SocketEvents<Bytes> {
  open: [];
  message: [data: string | Bytes, isBinary: boolean];
  ping: [data: Bytes];
  pong: [data: Bytes];
  close: [code: number, reason: string];
  error: [error: Error];
  drain: [];
}

export const READY_STATES = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

/** Emits `ev` through `emit`; a server's upgrade request goes to `onRequest`. */
export function dispatchEvent(
  ev: ConnectionEvent,
  emit: (name: string, a?: unknown, b?: unknown) => void,
  hasErrorListener: () => boolean,
  onRequest: ((request: UpgradeRequest) => void) | undefined,
): void {
  switch (ev.type) {
    case "request":
      onRequest?.(ev.request);
      break;
    case "message":
      emit("message", ev.data, ev.binary);
      break;
    case "ping":
    case "pong":
      emit(ev.type, ev.data);
      break;
    case "open":
      emit("open");
      break;
    case "close":
      emit("close", ev.code, ev.reason);
      break;
    case "error":
      // Like ws: an error nobody listens to is not thrown; 'close' always follows.
      if (hasErrorListener()) emit("error", ev.error);
      break;
  }
}
