// A WHATWG-compatible WebSocket (the browser API: readyState, binaryType, bufferedAmount, protocol,
// extensions, onopen/onmessage/onerror/onclose and addEventListener), over any of our sockets, so
// browser code runs unchanged on servers. Plus an async iterator of messages.
// With `fragments: true` there are no 'message' events: the WHATWG class fires a non-standard
// 'fragment' event (FragmentEventLike) instead, and messages() and socketStreams() yield nothing.
import type { SocketEvents } from "./events.js";
import type { BinaryFactory } from "../protocol/options.js";

/** What the runtime adapters' sockets offer (the Node WebSocket and WebSocketConnection both do). */
export interface EventSocket {
  on<K extends keyof SocketEvents<Uint8Array>>(event: K, f: (...args: SocketEvents<Uint8Array>[K]) => void): unknown;
  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): unknown;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
}

export class MessageEventLike extends Event {
  constructor(
    type: string,
    readonly data: unknown,
  ) {
    super(type);
  }
}

/** Non-standard, with `fragments: true`: a piece of a message (bytes, also for text), in order. */
export class FragmentEventLike extends Event {
  constructor(
    readonly data: ArrayBuffer,
    readonly binary: boolean,
    readonly first: boolean,
    readonly last: boolean,
  ) {
    super("fragment");
  }
}

export class CloseEventLike extends Event {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly wasClean: boolean,
  ) {
    super("close");
  }
}

type Handler = ((ev: Event) => void) | null;

function copyBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * @internal A BinaryFactory for a socket only a WhatwgWebSocket listens to: each binary message in
 * an ArrayBuffer of its own, which the WhatwgWebSocket then hands over as it is instead of copying
 * it again (for a socket others may listen to, it copies: they would share the bytes).
 */
export const exactBinary: BinaryFactory = (s, a, b, owned) => (owned && a === 0 && b === s.length ? s : Uint8Array.prototype.slice.call(s, a, b));

function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const buf = bytes.buffer;
  return bytes.byteOffset === 0 && bytes.byteLength === buf.byteLength && buf instanceof ArrayBuffer ? buf : copyBuffer(bytes);
}

export class WhatwgWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  #binaryType: "arraybuffer" | "blob" = "blob";
  /** As in browsers, a value other than "blob" or "arraybuffer" is ignored. */
  get binaryType(): "arraybuffer" | "blob" {
    return this.#binaryType;
  }
  set binaryType(type: "arraybuffer" | "blob") {
    if (type === "blob" || type === "arraybuffer") this.#binaryType = type;
  }

  // The on* handlers are event listeners, as in browsers (HTML's event handler attributes): the first
  // non-null value takes its place in the listener list, later values keep that place, null removes it.
  // So listeners run in the order they were added, each event's target is this object, and a handler
  // that throws stops no other listener (the exception is reported, as for any listener).
  #handlers: Record<string, { fn: Handler; listener: (ev: Event) => void }> = {};
  #handler(type: string): Handler {
    return this.#handlers[type]?.fn ?? null;
  }
  #setHandler(type: string, fn: Handler): void {
    const value = typeof fn === "function" ? fn : null;
    const slot = this.#handlers[type];
    if (slot) {
      if (value) slot.fn = value;
      else {
        this.removeEventListener(type, slot.listener);
        delete this.#handlers[type];
      }
      return;
    }
    if (!value) return;
    const added = { fn: value, listener: (ev: Event) => added.fn?.call(this, ev) };
    this.#handlers[type] = added;
    this.addEventListener(type, added.listener);
  }
  declare onopen: Handler;
  declare onmessage: Handler;
  declare onerror: Handler;
  declare onclose: Handler;
  /** Non-standard: see FragmentEventLike. */
  declare onfragment: Handler;
  static {
    // One accessor pair per handler, on the prototype, as WebIDL attributes are.
    for (const type of ["open", "message", "error", "close", "fragment"]) {
      Object.defineProperty(this.prototype, `on${type}`, {
        get(this: WhatwgWebSocket): Handler {
          return this.#handler(type);
        },
        set(this: WhatwgWebSocket, fn: Handler) {
          this.#setHandler(type, fn);
        },
        enumerable: true,
        configurable: true,
      });
    }
  }

  readonly #socket: EventSocket;

  /** `ownsBinary` (internal): only this object listens to `socket`, which makes binary messages with exactBinary. */
  constructor(
    readonly url: string,
    socket: EventSocket,
    ownsBinary = false,
  ) {
    super();
    this.#socket = socket;
    socket.on("open", () => this.#fire(new Event("open")));
    socket.on("message", (data, isBinary) => {
      let out: unknown = data;
      if (isBinary || typeof data !== "string") {
        const copy = ownsBinary ? ownArrayBuffer(data as Uint8Array) : copyBuffer(data as Uint8Array);
        out = this.#binaryType === "blob" && typeof Blob === "function" ? new Blob([copy]) : copy;
      }
      this.#fire(new MessageEventLike("message", out));
    });
    socket.on("fragment", (data, isBinary, first, last) => this.#fire(new FragmentEventLike(copyBuffer(data), isBinary, first, last)));
    // As in browsers: the connection has failed, so readyState is CLOSED while 'error' and then
    // 'close' fire.
    socket.on("error", () => {
      this.#failed = true;
      this.#fire(new Event("error"));
    });
    // The core's wasClean; a socket that does not report it (ws's) falls back to "not 1006".
    socket.on("close", (code, reason, wasClean) => this.#fire(new CloseEventLike(code, String(reason), wasClean ?? code !== 1006)));
  }

  #failed = false;

  #fire(ev: Event): void {
    this.dispatchEvent(ev);
  }

  get readyState(): number {
    return this.#failed ? WhatwgWebSocket.CLOSED : this.#socket.readyState;
  }
  get protocol(): string {
    return this.#socket.protocol;
  }
  get extensions(): string {
    return this.#socket.extensions;
  }
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState === 0) throw new DOMException("WebSocket is still connecting", "InvalidStateError");
    this.#socket.send(data);
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) throw new DOMException("close code must be 1000 or 3000–4999", "InvalidAccessError");
    // As in browsers: a reason over 123 UTF-8 bytes is a SyntaxError, thrown before anything closes.
    if (reason !== undefined && reason.length > 41 && new TextEncoder().encode(reason).length > 123) throw new DOMException("close reason must be at most 123 UTF-8 bytes", "SyntaxError");
    this.#socket.close(code, reason);
  }
}

/** Messages as an async iterator: `for await (const { data, isBinary } of messages(socket))`. */
export async function* messages<T>(socket: { on(event: "message", f: (data: T, isBinary: boolean) => void): unknown; on(event: "close", f: () => void): unknown }): AsyncGenerator<{ data: T; isBinary: boolean }> {
  const queue: { data: T; isBinary: boolean }[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  socket.on("message", (data, isBinary) => {
    queue.push({ data, isBinary });
    wake?.();
  });
  socket.on("close", () => {
    done = true;
    wake?.();
  });
  for (;;) {
    while (queue.length) yield queue.shift()!;
    if (done) return;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
}

/** What a socket offers for stream backpressure: both of our socket kinds have these. */
export interface FlowSocket {
  on(event: "message", f: (data: string | Uint8Array, isBinary: boolean) => void): unknown;
  on(event: "close", f: (code: number, reason: string) => void): unknown;
  on(event: "drain", f: () => void): unknown;
  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): unknown;
  close(code?: number, reason?: string): void;
  pause?(): void;
  resume?(): void;
  readonly bufferedAmount: number;
}

/**
 * A WebSocketStream-style pair over a socket: `readable` yields messages and stops reading from
 * the transport while `highWaterMark` messages wait unread; `writable` sends and waits for the
 * transport to drain once `bufferedAmount` passes `maxBuffered` bytes. Closing the writable closes
 * the socket; the readable ends when the socket closes.
 */
export function socketStreams(socket: FlowSocket, options: { highWaterMark?: number; maxBuffered?: number } = {}): {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | Uint8Array>;
} {
  const maxBuffered = options.maxBuffered ?? 1024 * 1024;
  let paused = false;
  let drained: (() => void) | undefined;
  socket.on("drain", () => drained?.());
  const readable = new ReadableStream<string | Uint8Array>(
    {
      start(controller) {
        socket.on("message", (data) => {
          controller.enqueue(data);
          if ((controller.desiredSize ?? 1) <= 0 && socket.pause && !paused) {
            paused = true;
            socket.pause();
          }
        });
        socket.on("close", () => {
          try {
            controller.close();
          } catch {
            // already closed or errored
          }
        });
      },
      pull() {
        if (paused) {
          paused = false;
          socket.resume?.();
        }
      },
      cancel() {
        socket.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: options.highWaterMark ?? 16 }),
  );
  const writable = new WritableStream<string | Uint8Array>({
    async write(chunk) {
      socket.send(chunk);
      if (socket.bufferedAmount > maxBuffered) await new Promise<void>((r) => (drained = r));
    },
    close() {
      socket.close(1000);
    },
    abort() {
      socket.close(1001);
    },
  });
  return { readable, writable };
}
