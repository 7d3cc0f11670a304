// What the socket façades share, written once: the Node WebSocket (ws's API, on Node's
// EventEmitter) and WebSocketConnection (Deno, Bun, overStreams; a small emitter of its own) are
// this class over their own emitter. The state is read from the connection and the driver; a
// façade keeps only what they cannot know: a floor under readyState set before there is a
// connection (or by terminate()), and whether 'close' was emitted. Each façade adds its own way of
// sending (the Node one checks arguments as ws does and takes callbacks, Blobs, fragments).
import type { Connection } from "../protocol/connection.js";
import type { ConnectionDriver, Transport } from "./driver.js";
import { READY_STATES } from "./events.js";
import type { PublishData, Topics } from "./topics.js";

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EmitterClass = abstract new (...args: any[]) => object;

/** What a façade adds to its emitter (the type SocketFacade() returns, so its internals stay out of the published types). */
export interface SocketState {
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (once 'close' was emitted). */
  get readyState(): 0 | 1 | 2 | 3;
  /** The subprotocol the server chose ("" for none, or before the handshake). */
  get protocol(): string;
  /** The extensions agreed on ("" for none). */
  get extensions(): string;
  /** Bytes sent but not yet taken by the transport: queued since the last write, and held by the transport. */
  get bufferedAmount(): number;
  /** Whether pause() holds the messages. */
  get isPaused(): boolean;
  /** Stops reading from the transport (backpressure toward the peer): no 'message' until resume(). Nothing while CONNECTING or CLOSED. */
  pause(): void;
  resume(): void;
  /** Destroys the connection at once (no close handshake); 'close' follows with 1006. */
  terminate(): void;
  /** Subscribes to `topic`: the server's publish() to it reaches this socket (a server's sockets only). */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  isSubscribed(topic: string): boolean;
  /** The topics subscribed to. */
  get subscriptions(): string[];
  /**
   * Sends `data` to every subscriber of `topic` but this socket, framed once (Bun's ws.publish).
   * Returns the payload's byte length, or 0 when nobody took it.
   */
  publish(topic: string, data: PublishData, compress?: boolean): number;
  /** An addition: publishes this socket missed because more than `backpressureLimit` bytes were queued for it. */
  get droppedMessages(): number;
  /** @internal The connection, once there is one (a Node client gets it with the 101). */
  conn: Connection | undefined;
  /** @internal */
  driver: ConnectionDriver | undefined;
  /** @internal The server's topics, for a server's sockets. */
  _topics: Topics | undefined;
  /** @internal For the bytes it holds that the driver already handed it. */
  transport: Transport | undefined;
  /** @internal A floor under readyState, set by terminate() or a failed handshake before the connection knows. */
  _readyState: number;
  /** @internal As in ws, CLOSED means 'close' was emitted: until then the state reads CLOSING. */
  _closeEmitted: boolean;
  /** @internal Bytes given to send() after the connection closed: ws counts them in bufferedAmount (the Node façade does). */
  _bufferedAmount: number;
}

/** The shared part of a socket, over `Emitter` (the class it extends: Node's EventEmitter, or another). */
export function SocketFacade<E extends EmitterClass>(Emitter: E): (abstract new (...args: any[]) => SocketState) & E {
  abstract class Facade extends Emitter implements SocketState {
    /** @internal The connection, once there is one (a Node client gets it with the 101). */
    conn: Connection | undefined = undefined;
    /** @internal */
    driver: ConnectionDriver | undefined = undefined;
    /** @internal For the bytes it holds that the driver already handed it. */
    transport: Transport | undefined = undefined;
    /** @internal A floor under readyState, set by terminate() or a failed handshake before the connection knows (a prototype default: CONNECTING). */
    declare _readyState: number;
    /** @internal As in ws, CLOSED means 'close' was emitted: until then the state reads CLOSING. */
    declare _closeEmitted: boolean;
    /** @internal */
    declare _bufferedAmount: number;
    /** @internal The server's topics, for a server's sockets (a prototype default: undefined). */
    declare _topics: Topics | undefined;

    #topics(what: string): Topics {
      if (!this._topics) throw new TypeError(`${what}: only a server's sockets have topics`);
      return this._topics;
    }

    subscribe(topic: string): void {
      this.#topics("subscribe").subscribe(this, topic);
    }

    unsubscribe(topic: string): void {
      this.#topics("unsubscribe").unsubscribe(this, topic);
    }

    isSubscribed(topic: string): boolean {
      return this._topics?.isSubscribed(this, topic) ?? false;
    }

    get subscriptions(): string[] {
      return this._topics?.subscriptions(this) ?? [];
    }

    publish(topic: string, data: PublishData, compress = true): number {
      return this.#topics("publish").publish(topic, data, compress, this);
    }

    get droppedMessages(): number {
      return this._topics?.dropped(this) ?? 0;
    }

    /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (once 'close' was emitted). */
    get readyState(): 0 | 1 | 2 | 3 {
      const conn = this.conn;
      const s = conn ? Math.max(READY_STATES[conn.state], this._readyState) : this._readyState;
      return (s === CLOSED && !this._closeEmitted ? CLOSING : s) as 0 | 1 | 2 | 3;
    }

    /** The subprotocol the server chose ("" for none, or before the handshake). */
    get protocol(): string {
      return this.conn?.protocol ?? "";
    }

    /** The extensions agreed on ("" for none). */
    get extensions(): string {
      return this.conn?.extensions ?? "";
    }

    /** Bytes sent but not yet taken by the transport: queued since the last write, and held by the transport. */
    get bufferedAmount(): number {
      const driver = this.driver;
      return (driver === undefined ? 0 : driver.unflushedBytes + (this.transport?.pending?.() ?? 0)) + this._bufferedAmount;
    }

    get isPaused(): boolean {
      return this.driver?.isPaused ?? false;
    }

    /** Stops reading from the transport (backpressure toward the peer): no 'message' until resume(). Nothing while CONNECTING or CLOSED. */
    pause(): void {
      const s = this.readyState;
      if (s === CONNECTING || s === CLOSED) return;
      this.driver?.pause();
    }

    resume(): void {
      const s = this.readyState;
      if (s === CONNECTING || s === CLOSED) return;
      this.driver?.resume();
    }

    /** Destroys the connection at once (no close handshake); 'close' follows with 1006. */
    terminate(): void {
      if (this.readyState === CLOSED || !this.driver) return;
      this._readyState = CLOSING;
      this.driver.destroy();
    }
  }
  // Written by few sockets (at their close, or sends after it): defaults on the prototype.
  // So are a floor under readyState (written by terminate()) and topics (a server's sockets): a façade
  // that writes them for every socket declares them as fields of its own (the Node WebSocket does).
  protoDefaults(Facade.prototype, { _closeEmitted: false, _bufferedAmount: 0, _readyState: CONNECTING, _topics: undefined });
  return Facade;
}

/**
 * Defaults of fields on a prototype instead of in every instance: writable (an instance that writes
 * one gets its own property), not enumerable. For fields most instances never write: an idle
 * connection holds 8 B less per field.
 */
export function protoDefaults(proto: object, values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
}
