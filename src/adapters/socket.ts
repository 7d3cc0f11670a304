// A ws-like WebSocket for any runtime (Deno, Bun, browsers, workers, custom transports), over the
// generic driver: the shared façade (facade.ts) on a tiny emitter of its own. Same events and
// methods as the Node WebSocket, whose ws-specific argument checks it leaves to the core.
import type { Connection } from "../protocol/connection.js";
import type { ConnectionEvent } from "../protocol/events.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";
import { ConnectionDriver, type DriverLimits, type Transport } from "./driver.js";
import { dispatchEvent, rethrowLater, type SocketEvents } from "./events.js";
import { protoDefaults, SocketFacade } from "./facade.js";
import type { Topics } from "./topics.js";
import { messages } from "./whatwg.js";

type Events = SocketEvents<Uint8Array>;
type Listener<K extends keyof Events> = (...args: Events[K]) => void;
type Fn = (a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;

/** Listeners of no event: shared, never written to. */
const NONE: readonly (string | Fn)[] = Object.freeze([]);

/**
 * A small emitter. Its listeners are one flat list, [event, listener, event, listener, ...], for all
 * events (a Map and a list per event held ~130 B more per idle socket); the list is replaced, never
 * mutated, so emit() iterates without copying.
 */
class Emitter {
  #listeners = NONE;

  #indexOf(event: string, f: Fn): number {
    const l = this.#listeners;
    for (let i = 0; i < l.length; i += 2) if (l[i] === event && l[i + 1] === f) return i;
    return -1;
  }

  on<K extends keyof Events>(event: K, f: Listener<K>): this {
    if (this.#indexOf(event, f as Fn) < 0) this.#listeners = [...this.#listeners, event, f as Fn];
    return this;
  }

  off<K extends keyof Events>(event: K, f: Listener<K>): this {
    const i = this.#indexOf(event, f as Fn);
    if (i >= 0) {
      const l = this.#listeners;
      this.#listeners = l.length === 2 ? NONE : [...l.slice(0, i), ...l.slice(i + 2)];
    }
    return this;
  }

  once<K extends keyof Events>(event: K, f: Listener<K>): this {
    const wrapped = ((...args: Events[K]) => {
      this.off(event, wrapped);
      f(...args);
    }) as Listener<K>;
    return this.on(event, wrapped);
  }

  /**
   * @internal Every event has at most four arguments; listeners added or removed meanwhile apply next
   * time. A listener that throws does not keep the event from the others (ours among them: serve()'s
   * close() waits for 'close', and hung when an application's 'close' listener before it threw); the
   * first exception is thrown once all have run, any others on their own.
   */
  emit(name: string, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const l = this.#listeners;
    let failed = false;
    let failure: unknown;
    for (let i = 0; i < l.length; i += 2) {
      if (l[i] !== name) continue;
      try {
        (l[i + 1] as Fn)(a, b, c, d);
      } catch (e) {
        if (failed) rethrowLater(e);
        else (failed = true), (failure = e);
      }
    }
    if (failed) throw failure;
  }

  /**
   * @internal emit("message", data, isBinary) without the generic event switch:
   * the one event of every message (32 B echo on Bun 1.4.5, with onEvent's fast path: ~170 -> ~150 ns
   * of our JS per message, 2026-12-02).
   */
  emitMessage(data: string | Uint8Array, binary: boolean): void {
    this.emit("message", data, binary);
  }

  /** @internal */
  hasErrorListener(): boolean {
    const l = this.#listeners;
    for (let i = 0; i < l.length; i += 2) if (l[i] === "error") return true;
    return false;
  }
}

export class WebSocketConnection extends SocketFacade(Emitter) {
  /** @internal */
  declare conn: Connection;
  /** @internal */
  declare driver: ConnectionDriver;
  /** @internal Server role: decides on the upgrade request. */
  onRequest: ((request: UpgradeRequest) => void) | undefined;
  /** @internal The server (serve()) that accepted this socket, told of its close, and its topics (a prototype default for the others). */
  declare _server: { release(ws: WebSocketConnection): void; readonly topics: Topics } | undefined;

  /** `limits`: maxPendingBytes and stallTimeout (a server's or client's options object will do). */
  constructor(conn: Connection, transport: Transport, limits?: DriverLimits) {
    super();
    this.conn = conn;
    this.transport = transport;
    this.driver = new ConnectionDriver(this, limits);
  }

  /** @internal DriverHooks: a whole message, straight to its listeners (no event object). */
  onMessage(data: string | Uint8Array, binary: boolean): void {
    this.emitMessage(data, binary);
  }

  /** @internal DriverHooks: the socket is its own hooks and event sink (no closures per socket). */
  onEvent(ev: ConnectionEvent): void {
    // The event of every message first, straight to its listeners.
    if (ev.type === "message") return this.emitMessage(ev.data, ev.binary);
    if (ev.type === "close") {
      this._closeEmitted = true;
      this._server?.release(this);
    }
    dispatchEvent(ev, this);
  }

  /**
   * @internal A 'drain' listener's exception surfaces on its own, as other listeners' do (pump()),
   * never into the transport that reported the drain: Deno's took it for a failed write and closed
   * the connection (1006) without a word; Bun's swallowed it.
   */
  onDrain(): void {
    try {
      this.emit("drain");
    } catch (e) {
      rethrowLater(e);
    }
  }

  /** @internal The transport failed: a client still connecting reports the transport's own error (before 'close', which the adapter reports next). */
  transportError(err: unknown): void {
    if (this.conn.role === "client" && this.conn.state === "connecting" && this.hasErrorListener()) this.emit("error", err);
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

  /** `for await (const { data, isBinary } of socket)`: messages until the socket closes. */
  [Symbol.asyncIterator](): AsyncGenerator<{ data: string | Uint8Array; isBinary: boolean }> {
    return messages<string | Uint8Array>(this);
  }
}
protoDefaults(WebSocketConnection.prototype, { _server: undefined });
// A server's sockets find their topics through their server: no field of their own (16 B per idle
// connection on Bun with the façade's floor under readyState, also a prototype default now).
Object.defineProperty(WebSocketConnection.prototype, "_topics", {
  get(this: WebSocketConnection) {
    return this._server?.topics;
  },
  configurable: true,
  enumerable: false,
});
