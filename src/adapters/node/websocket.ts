// A ws-like WebSocket object for Node: EventEmitter with 'open', 'message' (data, isBinary),
// 'fragment' (data, isBinary, first, last) with `fragments: true`, 'ping', 'pong',
// 'close' (code, reason, wasClean), 'error', and send/ping/pong/close/terminate.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Connection } from "../../protocol/connection.js";
import type { ConnectionEvent } from "../../protocol/events.js";
import type { UpgradeRequest } from "../../protocol/handshake/server.js";
import { driveSocket } from "./socket-driver.js";
import type { ConnectionDriver, DriverLimits } from "../driver.js";
import { dispatchEvent, READY_STATES, type EventSink, type SocketEvents } from "../events.js";
import { messages } from "../whatwg.js";

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;


type SendCallback = (err?: Error) => void;

export type WebSocketEvents = SocketEvents<Buffer>;

export class WebSocket extends EventEmitter<WebSocketEvents> {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  /** @internal */
  readonly driver: ConnectionDriver;
  private readonly conn: Connection;
  private readonly rawSocket: Duplex;

  /** @internal Created by WebSocketServer and connect(). */
  constructor(socket: Duplex, conn: Connection, limits?: DriverLimits) {
    super();
    this.conn = conn;
    this.rawSocket = socket;
    this.driver = driveSocket(socket, conn, this, limits);
  }

  get readyState(): number {
    return READY_STATES[this.conn.state];
  }
  get protocol(): string {
    return this.conn.protocol;
  }
  get extensions(): string {
    return this.conn.extensions;
  }
  /** Bytes queued but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.conn.bufferedAmount + this.rawSocket.writableLength;
  }
  /** The underlying socket. */
  get socket(): Duplex {
    return this.rawSocket;
  }

  /** @internal Server role: decides on the upgrade request. */
  onRequest: ((request: UpgradeRequest) => void) | undefined;

  /** @internal DriverHooks: the socket is its own hooks and event sink (no closures per socket). */
  onEvent(ev: ConnectionEvent): void {
    dispatchEvent(ev, this as EventSink);
  }

  /** @internal */
  onDrain(): void {
    this.emit("drain");
  }

  /** @internal */
  hasErrorListener(): boolean {
    return this.listenerCount("error") > 0;
  }

  /** Sends a message; strings as text, bytes as binary (override with `binary`). */
  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean; compress?: boolean } | SendCallback, cb?: SendCallback): void {
    if (typeof options === "function") {
      cb = options;
      options = undefined;
    }
    const sent = this.driver.send(data, options ?? {});
    if (cb) queueMicrotask(() => cb!(sent ? undefined : new Error("WebSocket is not open")));
  }

  ping(data?: Uint8Array | string): void {
    this.driver.ping(data);
  }
  pong(data?: Uint8Array | string): void {
    this.driver.pong(data);
  }
  close(code?: number, reason?: string): void {
    this.driver.close(code, reason);
  }

  /** Destroys the connection at once (no close handshake). */
  terminate(): void {
    this.driver.destroy();
  }

  /** `for await (const { data, isBinary } of socket)`: messages until the socket closes. */
  [Symbol.asyncIterator](): AsyncGenerator<{ data: string | Buffer; isBinary: boolean }> {
    return messages<string | Buffer>(this);
  }

  /** Stops reading from the socket (backpressure toward the peer); no 'message' until resume(). */
  pause(): void {
    this.driver.pause();
  }

  /** Reads again, once our own backpressure allows it too; held messages are delivered first. */
  resume(): void {
    this.driver.resume();
  }

  get isPaused(): boolean {
    return this.driver.isPaused;
  }
}
