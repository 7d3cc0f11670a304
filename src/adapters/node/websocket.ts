// ws 8's WebSocket, on our engine: `new WebSocket(url, protocols, options)` connects (client over
// Node's http/https request, client.ts); a server makes one with `new WebSocket(null)` and hands it
// the upgraded socket. Events as ws emits them: 'open', 'message' (data, isBinary) with text and
// binary as Buffers (binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments'), 'ping'/'pong'
// (Buffer), 'close' (code, reason Buffer), 'error' (ws's codes), 'upgrade', 'unexpected-response',
// 'redirect'; plus, as additions, 'fragment' (with `fragments: true`) and a third 'close' argument
// `wasClean`. Underneath, one ConnectionDriver reads straight into core memory and writes once per
// read (README, "Performance"). Past 350 lines because it is ws's whole WebSocket class (its
// constructor forms, argument checks, callbacks, binaryTypes and events), kept as one class as in ws;
// the client handshake (client.ts) and the state shared with other sockets (../facade.ts) live apart.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type * as http from "node:http";
import { Connection, type ConnectionOptions, type MessageCodec } from "../../protocol/connection.js";
import { bufferHost } from "../buffer-host.js";
import type { ConnectionEvent } from "../../protocol/events.js";
import { CloseCode, isValidWireCloseCode } from "../../protocol/close-codes.js";
import { driveSocket, Http2StreamTransport, SocketTransport } from "./socket-driver.js";
import type { DriverLimits } from "../driver.js";
import { SocketFacade, protoDefaults, CONNECTING, OPEN, CLOSING, CLOSED } from "../facade.js";
import type { Topics } from "../topics.js";
import type { SocketEvents } from "../events.js";
import { messages } from "../whatwg.js";
import { binaryAsBuffer } from "./buffers.js";
import { toWsError } from "./errors.js";
import { addEventListener, defineEventAttributes, removeEventListener, type EventListenerLike } from "./event-target.js";
import { initAsClient, kAborted, type ClientOptions as BaseClientOptions } from "./client.js";

export { CONNECTING, OPEN, CLOSING, CLOSED };
const STATE_NAMES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
const BINARY_TYPES = ["nodebuffer", "arraybuffer", "fragments", "blob"] as const;
export type BinaryType = (typeof BINARY_TYPES)[number];

/** ws's defaults for what both roles share (ws: 100 MiB payloads, 30 s close timeout). */
export const WS_DEFAULTS = { maxPayload: 100 * 1024 * 1024, closeTimeout: 30_000 } as const;

type Callback = (err?: Error) => void;
export type Data =
  | string | Buffer | ArrayBuffer | SharedArrayBuffer | ArrayBufferView | Blob | number | readonly any[]
  | { valueOf(): ArrayBuffer | SharedArrayBuffer | Uint8Array | readonly number[] | string }
  | { [Symbol.toPrimitive](hint: string): string }
  | null | undefined;
/** As ws types it; with binaryType 'blob' a binary message is a Blob. */
export type RawData = Buffer | ArrayBuffer | Buffer[];

/** The events every socket of ours has (events.ts), with ws's types: Buffers, a Buffer close reason; and the client's. */
export interface WebSocketEvents extends Omit<SocketEvents<Buffer>, "message" | "close"> {
  message: [data: RawData, isBinary: boolean];
  close: [code: number, reason: Buffer, wasClean: boolean];
  upgrade: [response: http.IncomingMessage];
  "unexpected-response": [request: http.ClientRequest, response: http.IncomingMessage];
  redirect: [url: string, request: http.ClientRequest];
}

/** What both roles take when a socket is handed over (ws's receiver options plus ours). */
export interface SocketOptions extends ConnectionOptions, DriverLimits {
  /** ws: largest message (and frame) accepted, bytes (default 100 MiB). */
  maxPayload?: number;
  /** ws: answer pings automatically (default true). */
  autoPong?: boolean;
  /**
   * ws: false emits each message of a read in its own macrotask turn. Accepted and without effect
   * here: the messages of one read are always emitted together, in order (README, "From ws").
   */
  allowSynchronousEvents?: boolean;
  /** ws: how long to wait for the peer to close after the close handshake (default 30 s). */
  closeTimeout?: number;
}

interface SetSocketOptions {
  protocol: string;
  extensions: string;
  codec: MessageCodec | undefined;
}

function toBuffer(data: Exclude<Data, Blob | number | null | undefined>): Buffer | string {
  if (typeof data === "string" || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Fragments ('fragments' binaryType) are sent as the message they make up.
  if (Array.isArray(data) && data.length && data.every((d) => Buffer.isBuffer(d))) return Buffer.concat(data);
  if (Array.isArray(data)) return Buffer.from(data as number[]);
  const prim = (data as { [Symbol.toPrimitive]?: (hint: string) => string })[Symbol.toPrimitive];
  if (typeof prim === "function") return prim.call(data, "string");
  const v = (data as { valueOf(): unknown }).valueOf();
  if (v !== data && (typeof v === "string" || v instanceof ArrayBuffer || ArrayBuffer.isView(v) || Array.isArray(v))) return toBuffer(v as never);
  if (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer) return Buffer.from(v);
  throw new TypeError("The data argument must be a string, a Buffer, an ArrayBuffer, a typed array, a DataView or a Blob");
}

function byteLength(data: Data): number {
  if (data == null) return 0;
  if (typeof data === "number") return String(data).length;
  if (typeof Blob !== "undefined" && data instanceof Blob) return data.size;
  const b = toBuffer(data as Exclude<Data, Blob | number | null | undefined>);
  return typeof b === "string" ? Buffer.byteLength(b) : b.length;
}

// Node's Blob global is a getter: look it up once.
const BlobClass: typeof Blob | undefined = typeof Blob === "undefined" ? undefined : Blob;
function isBlob(data: unknown): data is Blob {
  return BlobClass !== undefined && data instanceof BlobClass;
}

function asArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer as ArrayBuffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** The connection options of a socket options object, made once per object (a server's are shared by all its connections, and so are their resolved settings). */
const connectionOptionsOf = new WeakMap<SocketOptions, ConnectionOptions>();
function connectionOptions(o: SocketOptions): ConnectionOptions {
  let c = connectionOptionsOf.get(o);
  if (!c) {
    const maxPayload = o.maxPayload ?? WS_DEFAULTS.maxPayload;
    c = {
      ...bufferHost,
      textAsBytes: true,
      createBinary: binaryAsBuffer,
      ...o,
      maxFrameSize: o.maxFrameSize ?? (maxPayload || undefined),
      maxMessageSize: o.maxMessageSize ?? (maxPayload || undefined),
      closeTimeout: o.closeTimeout ?? WS_DEFAULTS.closeTimeout,
    };
    connectionOptionsOf.set(o, c);
  }
  return c;
}

function notOpen(state: number): Error {
  return new Error(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
}

export class WebSocket extends SocketFacade(EventEmitter as new () => EventEmitter<WebSocketEvents>) {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  // Fields most sockets never change are defaults on the prototype (protoDefaults below), each
  // written as an own property only by the sockets that change it: 8 B less per idle connection each.
  /** @internal */ declare _url: string;
  /** @internal */ declare _binaryType: BinaryType;
  /** @internal The upgraded socket (ws names it `_socket`; ws's tests and some tools read it). */
  _socket: Duplex | null = null;
  /**
   * An addition: "2" when this socket runs over an HTTP/2 stream (RFC 8441; a client asked for it
   * with `http2`), "1.1" over an upgraded HTTP/1.1 connection (also after an `http2` client fell back).
   */
  declare httpVersion: "1.1" | "2";
  /** @internal The client's pending http.ClientRequest. */
  declare _req: http.ClientRequest | null;
  /** @internal */ _isServer: boolean;
  /** @internal */ declare _redirects: number;
  /** @internal */ declare _errorEmitted: boolean;
  /** @internal The server that tracks this socket (its 'close' listener is one function for all sockets). */
  declare _wss: { _release(ws: WebSocket): void } | null;
  /** @internal The options the socket is driven with (ws's receiver options plus ours). */
  _options: SocketOptions;
  /** @internal Own fields here (prototype defaults in the shared façade): most Node sockets write them. */
  override _readyState: number = CONNECTING;
  /** @internal */
  override _topics: Topics | undefined = undefined;
  /** Sends waiting behind a Blob being read (ws keeps the order of sends). */
  declare private queue: ((err?: Error) => void)[] | undefined;

  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    if (address === null) {
      this._isServer = true;
      this._options = (protocols as SocketOptions | undefined) ?? options ?? {};
      return;
    }
    this._isServer = false;
    let list: string[];
    if (protocols === undefined) list = [];
    else if (Array.isArray(protocols)) list = protocols;
    else if (typeof protocols === "object" && protocols !== null) {
      options = protocols as ClientOptions;
      list = options.protocols === undefined ? [] : Array.isArray(options.protocols) ? options.protocols : [options.protocols as string];
    } else list = [protocols as string];
    this._options = options ?? {};
    initAsClient(this, address, list, options ?? {});
  }

  /** ws: 'nodebuffer' (default), 'arraybuffer' or 'fragments'; applies to binary messages. */
  get binaryType(): BinaryType {
    return this._binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.includes(type)) this._binaryType = type;
  }

  get url(): string {
    return this._url;
  }
  /** The underlying socket (an addition: ws keeps it as `_socket`). */
  get socket(): Duplex | null {
    return this._socket;
  }

  declare onopen: ((event: unknown) => void) | null;
  declare onmessage: ((event: unknown) => void) | null;
  declare onclose: ((event: unknown) => void) | null;
  declare onerror: ((event: unknown) => void) | null;
  declare addEventListener: (type: "open" | "message" | "close" | "error", listener: EventListenerLike, options?: { once?: boolean }) => void;
  declare removeEventListener: (type: "open" | "message" | "close" | "error", listener: EventListenerLike) => void;

  /**
   * @internal Takes over an upgraded socket (both roles): the 101 is done, `head` is what followed it.
   */
  setSocket(socket: Duplex, head: Uint8Array, opts: SetSocketOptions): void {
    const o = this._options;
    const conn = Connection.open(this._isServer ? "server" : "client", connectionOptions(o), opts);
    this._socket = socket;
    this.conn = conn;
    (socket as { setTimeout?: (ms: number) => void }).setTimeout?.(0);
    (socket as { setNoDelay?: (on?: boolean) => void }).setNoDelay?.(true);
    // An HTTP/2 stream (RFC 8441) gets its writes in slices (socket-driver.ts, Http2StreamTransport).
    const Transport = "rstCode" in socket && "session" in socket ? Http2StreamTransport : SocketTransport;
    const transport = (this.transport = new Transport(socket, !this._isServer));
    // What came with the upgrade is read on the next tick, as ws's socket.unshift() has it: after
    // the 'connection' listener (or the code after the 'upgrade') has added its listeners. And
    // before what the socket buffered since (bytes that arrived while verifyClient decided): its
    // 'data' listener, added below, resumes the socket on a tick of its own, which must come second
    // (scheduled after it, the head came last: "one", "two" arrived as "two", "one").
    if (head.length) process.nextTick(() => this.driver!.receive(head));
    const driver = (this.driver = driveSocket(socket, this as this & { conn: Connection; transport: SocketTransport }, o));
    driver.pump();
  }

  /** @internal DriverHooks: a whole message (binary ones come without an event object). */
  onMessage(bytes: string | Uint8Array, binary: boolean): void {
    let data: unknown = bytes;
    if (binary && this._binaryType !== "nodebuffer") {
      const t = this._binaryType;
      data = t === "arraybuffer" ? asArrayBuffer(bytes as Buffer) : t === "blob" ? new Blob([bytes as unknown as ArrayBuffer]) : [bytes];
    }
    this.emit("message", data as RawData, binary);
  }

  /** @internal DriverHooks */
  onEvent(ev: ConnectionEvent): void {
    switch (ev.type) {
      case "message":
        this.onMessage(ev.data, ev.binary);
        break;
      case "fragment":
        this.emit("fragment", ev.data as Buffer, ev.binary, ev.first, ev.last);
        break;
      case "ping":
      case "pong":
        this.emit(ev.type, Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength));
        break;
      case "open":
        this.emit("open");
        break;
      case "close":
        this.emitClose(ev.code, ev.reason, ev.wasClean);
        break;
      case "error":
        this.emitError(toWsError(ev.error));
        break;
    }
  }

  /** @internal */
  onDrain(): void {
    if (this.listenerCount("drain")) this.emit("drain");
  }

  /** @internal ws emits 'error' at most once per connection. */
  emitError(err: Error): void {
    if (this._errorEmitted) return;
    this._errorEmitted = true;
    // An error nobody listens to is not thrown (a server must not die on one peer's bad frame).
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  /** @internal */
  emitClose(code: number = CloseCode.Abnormal, reason = "", wasClean = false): void {
    if (this._closeEmitted) return;
    this._closeEmitted = true;
    this._readyState = CLOSED;
    // Subscriptions end with the connection whatever listeners are left: a server's 'close' listener
    // (which also untracks the client, as ws's does) goes with ws.removeAllListeners().
    this._topics?.leave(this);
    this.emit("close", code, reason ? Buffer.from(reason) : EMPTY, wasClean);
  }

  /**
   * ws: sends a message. `options.binary` (default: not a string), `compress` (default true, with
   * permessage-deflate), `fin` (false sends a fragment, continued by the next send). The callback
   * runs once the bytes were handed to the socket, or with an error.
   */
  send(data: Data, options?: { binary?: boolean; compress?: boolean; fin?: boolean; mask?: boolean } | Callback, cb?: Callback): void {
    // The common case first (an open socket, a string or bytes, a whole message, nothing waiting
    // behind a Blob): straight to the connection, no allocation here (an echo pays this per message).
    const conn = this.conn;
    if (conn !== undefined && conn.state === "open" && this._readyState < CLOSING && this.queue === undefined && !this.fragmenting && (typeof data === "string" || data instanceof Uint8Array)) {
      if (typeof options === "function") {
        cb = options;
        options = undefined;
      }
      if (options === undefined || options.fin !== false) {
        this.driver!.send(data, options ?? NO_OPTIONS, cb);
        return;
      }
    }
    if (this.readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof options === "function") {
      cb = options;
      options = {};
    }
    if (typeof data === "number") data = String(data);
    if (this.readyState !== OPEN) return this.sendAfterClose(data, cb);
    if (isBlob(data)) return this.sendBlob(data, options ?? {}, cb);
    const payload = data == null ? EMPTY : toBuffer(data as Exclude<Data, Blob | number | null | undefined>);
    const opts = options ?? {};
    if (this.queue) this.queue.push((err) => (err ? cb?.(err) : this.sendNow(payload, opts, cb)));
    else this.sendNow(payload, opts, cb);
  }

  /** Hands a message to the connection (after any Blob read before it). */
  private sendNow(payload: Buffer | string, options: { binary?: boolean; compress?: boolean; fin?: boolean }, cb: Callback | undefined): void {
    if (this.conn?.state !== "open") {
      if (cb) process.nextTick(cb, notOpen(this.readyState));
      return;
    }
    const binary = options.binary ?? typeof payload !== "string";
    if (options.fin === false || this.fragmenting) {
      const fin = options.fin !== false;
      this.driver!.sendFragment(payload, binary, fin, cb);
      this.fragmenting = !fin;
      return;
    }
    this.driver!.send(payload, { binary, compress: options.compress }, cb);
  }
  declare private fragmenting: boolean;

  /** A Blob is read first; sends made meanwhile wait behind it, in order (as in ws). */
  private sendBlob(blob: Blob, options: { binary?: boolean; compress?: boolean; fin?: boolean }, cb: Callback | undefined): void {
    if (this.queue) {
      // Behind another Blob: read it in turn.
      this.queue.push((err) => (err ? cb?.(err) : this.sendBlob(blob, options, cb)));
      return;
    }
    const queue: ((err?: Error) => void)[] = [queueClosed];
    this.queue = queue;
    let settled = false;
    const release = () => {
      if (this.queue === queue) this.queue = undefined;
      for (let i = 1; i < queue.length; i++) {
        if (this.queue) {
          // A queued Blob started another read: what follows it waits for that one.
          this.queue.push(...queue.slice(i));
          return;
        }
        queue[i]!();
      }
    };
    // The socket closing while the Blob is read ends the wait, with ws's error.
    // The socket closing while the Blob is read fails it and what waits behind it (ws's error).
    function queueClosed(err?: Error): void {
      if (!err || settled) return;
      settled = true;
      cb?.(err);
    }
    blob.arrayBuffer().then(
      (ab) => {
        if (settled) return;
        if (this._socket?.destroyed) {
          // Terminated while the Blob was read: it and what waits behind it fail, as in ws.
          if (this.queue === queue) this.queue = undefined;
          const err = new Error("The socket was closed while the blob was being read");
          for (const run of queue) run(err);
          return;
        }
        settled = true;
        if (this.queue === queue) this.queue = undefined;
        this.sendNow(Buffer.from(ab), { ...options, binary: options.binary ?? true }, cb);
        release();
      },
      () => {
        if (settled) return;
        settled = true;
        const err = new DOMException("The blob could not be read", "NotReadableError");
        if (cb) process.nextTick(cb, err);
        release();
        if (this.readyState === CLOSED) return;
        // As ws: the connection is over (the peer is let finish), and 'error' says why.
        this._readyState = CLOSING;
        this._socket?.end();
        this.emitError(err);
      },
    );
  }

  private sendAfterClose(data: Data, cb: Callback | undefined): void {
    if (data) this._bufferedAmount += byteLength(data);
    if (cb) process.nextTick(cb, notOpen(this.readyState));
  }

  /** ws: sends a ping (payload up to 125 bytes); the `mask` argument is accepted and ignored. */
  ping(data?: Data | Callback, mask?: boolean | Callback, cb?: Callback): void {
    this.control("ping", data, mask, cb);
  }

  /** ws: sends a pong. */
  pong(data?: Data | Callback, mask?: boolean | Callback, cb?: Callback): void {
    this.control("pong", data, mask, cb);
  }

  private control(kind: "ping" | "pong", data: Data | Callback, mask: boolean | Callback | undefined, cb: Callback | undefined): void {
    if (this.readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === "function") {
      cb = data;
      data = undefined;
    } else if (typeof mask === "function") cb = mask;
    if (typeof data === "number") data = String(data);
    const payload = data == null || isBlob(data) ? EMPTY : toBuffer(data as Exclude<Data, Blob | number | null | undefined>);
    const bytes = typeof payload === "string" ? Buffer.from(payload) : payload;
    if (bytes.length > 125) throw new RangeError("The data size must not be greater than 125 bytes");
    if (this.readyState !== OPEN) return this.sendAfterClose(data, cb);
    const run = (err?: Error) => {
      if (err) cb?.(err);
      else if (this.conn?.state === "open") this.driver![kind](bytes, cb);
      else if (cb) process.nextTick(cb, notOpen(this.readyState));
    };
    if (this.queue) this.queue.push(run);
    else run();
  }

  /**
   * ws: starts the closing handshake. No code sends a close frame without a status; a code must be
   * 1000 or a valid code to send (TypeError otherwise); the reason is at most 123 bytes.
   */
  close(code?: number, data?: string | Buffer): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) return this.abortHandshake("WebSocket was closed before the connection was established");
    if (code !== undefined && (typeof code !== "number" || !(code === CloseCode.Normal || isValidWireCloseCode(code)))) {
      throw new TypeError("First argument must be a valid error code number");
    }
    const reason = data === undefined ? "" : typeof data === "string" ? data : Buffer.from(data).toString();
    if (code !== undefined && Buffer.byteLength(reason) > 123) throw new RangeError("The message must not be greater than 123 bytes");
    if (state === CLOSING || !this.driver) return;
    const driver = this.driver;
    const run = (err?: Error) => {
      if (err) return;
      // The close frame is handed to the socket now (not batched with later sends): nothing may follow it.
      driver.close(code ?? CloseCode.NoStatus, code === undefined ? "" : reason);
      driver.pump();
    };
    if (!this.queue) return run();
    // Behind a Blob being read: CLOSING now, the frame after what was queued (as in ws).
    this._readyState = CLOSING;
    this.queue.push(run);
  }

  /** ws: destroys the connection at once (no close handshake); a client still connecting aborts its request. */
  override terminate(): void {
    if (this.readyState === CONNECTING) return this.abortHandshake("WebSocket was closed before the connection was established");
    super.terminate();
  }

  /** `for await (const { data, isBinary } of socket)`: messages until the socket closes (an addition). */
  [Symbol.asyncIterator](): AsyncGenerator<{ data: RawData; isBinary: boolean }> {
    return messages<RawData>(this as never) as AsyncGenerator<{ data: RawData; isBinary: boolean }>;
  }

  /** @internal Fails the opening handshake (client): the request is aborted, then 'error' and 'close'. */
  abortHandshake(message: string, stream?: Duplex): void {
    this._readyState = CLOSING;
    const err = new Error(message);
    const req = this._req;
    if (stream) {
      stream.destroy(err);
      stream.once("error", (e) => this.emitError(e));
      stream.once("close", () => this.emitClose());
      return;
    }
    this._req = null;
    if (req) {
      (req as { [kAborted]?: boolean })[kAborted] = true;
      req.destroy();
      if (req.socket && !req.socket.destroyed) req.socket.destroy();
    }
    process.nextTick(() => {
      this.emitError(err);
      this.emitClose();
    });
  }
}

const EMPTY = Buffer.alloc(0);
/** ws's client options, finishRequest given this WebSocket. */
export type ClientOptions = BaseClientOptions<WebSocket>;
const NO_OPTIONS = {};

for (const [name, value] of [["CONNECTING", CONNECTING], ["OPEN", OPEN], ["CLOSING", CLOSING], ["CLOSED", CLOSED]] as const) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}
// ws's attributes are enumerable accessors of WebSocket.prototype itself; those of the shared
// façade (facade.ts) are found on the prototype below and defined here as well.
for (const name of ["binaryType", "bufferedAmount", "extensions", "isPaused", "protocol", "readyState", "url"]) {
  let proto: object | null = WebSocket.prototype;
  let descriptor: PropertyDescriptor | undefined;
  while (proto && !(descriptor = Object.getOwnPropertyDescriptor(proto, name))) proto = Object.getPrototypeOf(proto);
  Object.defineProperty(WebSocket.prototype, name, { ...descriptor, enumerable: true });
}
protoDefaults(WebSocket.prototype, { _url: "", _binaryType: "nodebuffer", httpVersion: "1.1", _req: null, _redirects: 0, _errorEmitted: false, _wss: null, queue: undefined, fragmenting: false });
WebSocket.prototype.addEventListener = addEventListener as never;
WebSocket.prototype.removeEventListener = removeEventListener as never;
defineEventAttributes(WebSocket.prototype);
