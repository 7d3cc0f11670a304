// A ws-like WebSocket for any runtime (Deno, Bun, browsers, workers, custom transports), over the
// generic driver. Same events and methods as the Node WebSocket, with a tiny built-in emitter.
import type { Connection } from "../protocol/connection.js";
import type { ConnectionEvent } from "../protocol/events.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";
import { ConnectionDriver, type Transport } from "./driver.js";
import { dispatchEvent, READY_STATES, type SocketEvents } from "./events.js";
import { messages } from "./whatwg.js";

type Events = SocketEvents<Uint8Array>;
type Listener<K extends keyof Events> = (...args: Events[K]) => void;
type Fn = (a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;

export class WebSocketConnection {
  /** @internal */
  readonly driver: ConnectionDriver;
  /** @internal Server role: decides on the upgrade request. */
  onRequest: ((request: UpgradeRequest) => void) | undefined;
  /** Listener lists are replaced, never mutated, so emit() iterates without copying. */
  readonly #listeners = new Map<string, Fn[]>();

  readonly #conn: Connection;

  constructor(
    conn: Connection,
    transport: Transport,
  ) {
    this.#conn = conn;
    this.driver = new ConnectionDriver(conn, transport, this);
  }

  /** @internal DriverHooks: the socket is its own hooks and event sink (no closures per socket). */
  onEvent(ev: ConnectionEvent): void {
    dispatchEvent(ev, this);
  }

  /** @internal */
  onDrain(): void {
    this.emit("drain");
  }

  /** @internal */
  hasErrorListener(): boolean {
    return (this.#listeners.get("error")?.length ?? 0) > 0;
  }

  /** @internal The transport failed: a client still connecting reports the transport's own error (before 'close', which the adapter reports next). */
  transportError(err: unknown): void {
    if (this.#conn.role === "client" && this.#conn.state === "connecting" && this.hasErrorListener()) this.emit("error", err);
  }

  on<K extends keyof Events>(event: K, f: Listener<K>): this {
    const list = this.#listeners.get(event) ?? [];
    const g = f as Fn;
    if (!list.includes(g)) this.#listeners.set(event, [...list, g]);
    return this;
  }

  off<K extends keyof Events>(event: K, f: Listener<K>): this {
    const list = this.#listeners.get(event);
    if (list) this.#listeners.set(event, list.filter((g) => g !== f));
    return this;
  }

  once<K extends keyof Events>(event: K, f: Listener<K>): this {
    const wrapped = ((...args: Events[K]) => {
      this.off(event, wrapped);
      f(...args);
    }) as Listener<K>;
    return this.on(event, wrapped);
  }

  /** @internal Every event has at most four arguments; listeners added or removed meanwhile apply next time. */
  emit(name: string, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const list = this.#listeners.get(name);
    if (list) for (let i = 0; i < list.length; i++) list[i]!(a, b, c, d);
  }

  get readyState(): number {
    return READY_STATES[this.#conn.state];
  }
  get protocol(): string {
    return this.#conn.protocol;
  }
  get extensions(): string {
    return this.#conn.extensions;
  }
  get bufferedAmount(): number {
    return this.#conn.bufferedAmount;
  }

  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView, options: { binary?: boolean; compress?: boolean } = {}): boolean {
    return this.driver.send(data, options);
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
  /** Stops reading from the transport (backpressure toward the peer); no 'message' until resume(). */
  pause(): void {
    this.driver.pause();
  }
  resume(): void {
    this.driver.resume();
  }
  get isPaused(): boolean {
    return this.driver.isPaused;
  }

  /** Destroys the connection at once (no close handshake). */
  terminate(): void {
    this.driver.destroy();
  }

  /** `for await (const { data, isBinary } of socket)`: messages until the socket closes. */
  [Symbol.asyncIterator](): AsyncGenerator<{ data: string | Uint8Array; isBinary: boolean }> {
    return messages<string | Uint8Array>(this);
  }
}
