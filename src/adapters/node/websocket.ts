// A ws-like WebSocket object for Node: EventEmitter with 'open', 'message' (data, isBinary),
// 'ping', 'pong', 'close' (code, reason), 'error', and send/ping/pong/close/terminate.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Connection } from "../../protocol/connection.js";
import type { ConnectionEvent } from "../../protocol/events.js";
import type { UpgradeRequest } from "../../protocol/handshake/server.js";
import { SocketDriver } from "./socket-driver.js";

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

const READY: Record<string, number> = { connecting: CONNECTING, open: OPEN, closing: CLOSING, closed: CLOSED };

type SendCallback = (err?: Error) => void;

export interface WebSocketEvents {
  open: [];
  message: [data: string | Buffer, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: string];
  error: [error: Error];
  drain: [];
}

export class WebSocket extends EventEmitter<WebSocketEvents> {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  /** @internal */
  readonly driver: SocketDriver;
  private readonly conn: Connection;

  /** @internal Created by WebSocketServer and connect(). */
  constructor(socket: Duplex, conn: Connection) {
    super();
    this.conn = conn;
    this.driver = new SocketDriver(socket, conn, {
      onEvent: (ev) => this.onEvent(ev),
      onDrain: () => this.emit("drain"),
    });
  }

  get readyState(): number {
    return READY[this.conn.state]!;
  }
  get protocol(): string {
    return this.conn.protocol;
  }
  get extensions(): string {
    return this.conn.extensions;
  }
  /** Bytes queued but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.conn.bufferedAmount + this.driver.socket.writableLength;
  }
  /** The underlying socket. */
  get socket(): Duplex {
    return this.driver.socket;
  }

  /** @internal Server role: decides on the upgrade request. */
  onRequest: ((request: UpgradeRequest) => void) | undefined;

  private onEvent(ev: ConnectionEvent): void {
    switch (ev.type) {
      case "request":
        this.onRequest?.(ev.request);
        break;
      case "message":
        this.emit("message", ev.data as string | Buffer, ev.binary);
        break;
      case "ping":
        this.emit("ping", ev.data as Buffer);
        break;
      case "pong":
        this.emit("pong", ev.data as Buffer);
        break;
      case "open":
        this.emit("open");
        break;
      case "close":
        this.emit("close", ev.code, ev.reason);
        break;
      case "error":
        if (this.listenerCount("error") > 0) this.emit("error", ev.error);
        break;
    }
  }

  /** Sends a message; strings as text, bytes as binary (override with `binary`). */
  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean; compress?: boolean } | SendCallback, cb?: SendCallback): void {
    if (typeof options === "function") {
      cb = options;
      options = undefined;
    }
    const sent = this.conn.send(data, options ?? {});
    this.driver.requestFlush();
    if (cb) queueMicrotask(() => cb!(sent ? undefined : new Error("WebSocket is not open")));
  }

  ping(data?: Uint8Array | string): void {
    this.conn.ping(data);
    this.driver.requestFlush();
  }

  pong(data?: Uint8Array | string): void {
    this.conn.pong(data);
    this.driver.requestFlush();
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code, reason);
    this.driver.requestFlush();
  }

  /** Destroys the connection at once (no close handshake). */
  terminate(): void {
    this.driver.destroy();
  }

  /** Stops reading from the socket (backpressure toward the peer). */
  pause(): void {
    this.driver.socket.pause();
  }

  resume(): void {
    this.driver.socket.resume();
  }
}
