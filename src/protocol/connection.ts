// The connection state machine (RFC 6455 §4–§7) as a sans-I/O object: feed it received bytes,
// take the bytes it wants written and the events it produced. It never touches a socket, a timer or
// a clock: adapters call `receive`, `takeOutgoing`, `takeEvents`, and `tick` at `nextDeadline()`.
import { FrameScanner, type FrameSink } from "../core/frame-scanner.js";
import { inputWindowOf } from "../core/arena.js";
import { core } from "../core/select.js";
import { F_END, F_FIN, F_RSV1, F_START, ScanError } from "../core/layout.js";
import { isValidUtf8, validateJs } from "../core/api.js";
import { decodeUtf8, encoder } from "../core/text.js";
import { CloseCode, isValidWireCloseCode, MAX_CLOSE_REASON_BYTES } from "./close-codes.js";
import {
  HandshakeError, InvalidPayloadError, InvalidStateError, MessageTooBigError, ProtocolError, TimeoutError,
  WebSocketError, isHandshakeError, isWebSocketError, scanErrorToException,
} from "./errors.js";
import type { Clock, ConnectionEvent, ReadyState } from "./events.js";
import { DEFAULT_LIMITS, MAX_CONTROL_PAYLOAD, MAX_SIZE_LIMIT } from "./limits.js";
import { Opcode } from "./opcodes.js";
import { Outbox } from "./outbox.js";
import { MessageAssembler } from "./message-assembler.js";
import { HeadParser } from "./handshake/http.js";
import { acceptResponse, parseUpgradeRequest, rejectResponse, type AcceptOptions, type UpgradeRequest } from "./handshake/server.js";
import { buildRequest, validateResponse, type ClientRequestOptions } from "./handshake/client.js";
import type { ExtensionNegotiator } from "./extensions/permessage-deflate.js";

/** A negotiated extension that transforms whole messages marked with RSV1 (permessage-deflate). */
export interface MessageCodec {
  /** Decodes a received RSV1 message; at most `maxSize` bytes out, else MessageTooBigError. */
  decode(data: Uint8Array, maxSize: number): Uint8Array;
  /** Encodes an outgoing message, or returns undefined to send it as it is. */
  encode(data: Uint8Array | string): Uint8Array | undefined;
  /** Releases the codec's resources when the connection ends. */
  close?(): void;
}

export interface ConnectionOptions {
  /** Largest frame payload accepted (default 64 MiB). */
  maxFrameSize?: number;
  /** Largest message accepted, fragments added up, after decompression (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest number of frames in one message (default 65536). */
  maxFragments?: number;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /**
   * Deliver text messages as their (validated) UTF-8 bytes instead of strings, with `binary: false`.
   * Decoding non-ASCII UTF-8 into a JS string runs at ~0.6 GB/s in V8: skip it when you forward bytes.
   */
  textAsBytes?: boolean;
  /**
   * Do not check that text messages and close reasons are valid UTF-8 (ws's option; default false).
   * Only for peers you trust: invalid text then reaches the application as it came.
   */
  skipUTF8Validation?: boolean;
  /** Deliver data messages as `fragment` events as they arrive instead of whole `message`s. */
  fragments?: boolean;
  /** Split outgoing messages into frames of at most this many bytes (default: never split). */
  fragmentSize?: number;
  /** Time allowed for the opening handshake, ms (default 10 s; 0 = none). */
  handshakeTimeout?: number;
  /** Time allowed for the close handshake, ms (default 5 s). */
  closeTimeout?: number;
  /** Send a ping after this long without receiving anything, ms (0 = never, the default). */
  pingInterval?: number;
  /** Fail the connection if nothing arrives this long after a keepalive ping, ms (default 30 s). */
  pongTimeout?: number;
  /** Close (1001) after this long without receiving anything, ms (0 = never, the default). */
  idleTimeout?: number;
  /** Handshake head limits. */
  maxHandshakeBytes?: number;
  maxHeaders?: number;
  /**
   * Makes received binary messages (default: Uint8Array). `owned` bytes were made for this message
   * and may be wrapped instead of copied. Node adapters make Buffers.
   */
  createBinary?: (source: Uint8Array, start: number, end: number, owned: boolean) => Uint8Array;
  clock?: Clock;
  /** Client role: the extension offer and the check of the server's answer (permessage-deflate). */
  negotiator?: ExtensionNegotiator;
}

const systemClock: Clock = { now: () => Date.now() };
/** Plain Uint8Arrays whatever the source (a Node Buffer from zlib is re-viewed, not copied). */
const defaultCreateBinary = (s: Uint8Array, a: number, b: number, owned: boolean) =>
  owned ? new Uint8Array(s.buffer, s.byteOffset + a, b - a) : Uint8Array.prototype.slice.call(s, a, b);
const EMPTY = new Uint8Array(0);

type Role = "server" | "client";

function clampLimit(n: number | undefined, dflt: number): number {
  return Math.min(Math.max(0, n ?? dflt), MAX_SIZE_LIMIT);
}

export class Connection implements FrameSink {
  readonly role: Role;
  state: ReadyState = "connecting";
  protocol = "";
  extensions = "";
  #shouldClose = false;
  /** The close code and reason that ended (or are ending) the connection. */
  closeCode: number = CloseCode.Abnormal;
  closeReason = "";

  readonly #opts: Required<Omit<ConnectionOptions, "clock" | "createBinary" | "fragmentSize" | "negotiator">> & { fragmentSize: number };
  #negotiator: ExtensionNegotiator | undefined;
  readonly #clock: Clock;
  readonly #createBinary: (s: Uint8Array, a: number, b: number, owned: boolean) => Uint8Array;
  #scanner: FrameScanner | undefined;
  /** The core memory handed to the transport by receiveWindow(). */
  #window: Uint8Array | undefined;
  readonly #outbox: Outbox;
  #events: ConnectionEvent[] = [];
  #codec: MessageCodec | undefined;

  // Handshake.
  #head: HeadParser | undefined;
  #clientKey = "";
  #clientProtocols: string[] = [];
  #pendingRequest: UpgradeRequest | undefined;
  #earlyData: Uint8Array[] = [];
  #earlyBytes = 0;

  // Message being received.
  readonly #message = new MessageAssembler();
  /** Fragments mode: bytes of the current message delivered so far, plus one per fragment. */
  #partsLen = 0;
  #msgBinary = false;
  #msgCompressed = false;
  #msgFrames = 0;
  /** Set during a scan once a close frame or an error means later frames must be ignored. */
  #stopReading = false;
  #failure: WebSocketError | undefined;

  // Message being sent in fragments.
  #sendingFragmented = false;

  // Close handshake.
  #closeSent = false;
  #closeReceived = false;

  // Deadlines (ms since the clock's epoch; 0 = none).
  #handshakeDeadline = 0;
  #closeDeadline = 0;
  #lastReceived = 0;
  #pingSentAt = 0;
  #closed = false;

  constructor(role: Role, options: ConnectionOptions = {}) {
    this.role = role;
    this.#clock = options.clock ?? systemClock;
    this.#createBinary = options.createBinary ?? defaultCreateBinary;
    this.#opts = {
      maxFrameSize: clampLimit(options.maxFrameSize, DEFAULT_LIMITS.maxFrameSize),
      maxMessageSize: clampLimit(options.maxMessageSize, DEFAULT_LIMITS.maxMessageSize),
      maxFragments: options.maxFragments ?? DEFAULT_LIMITS.maxFragments,
      autoPong: options.autoPong ?? true,
      fragments: options.fragments ?? false,
      textAsBytes: options.textAsBytes ?? false,
      skipUTF8Validation: options.skipUTF8Validation ?? false,
      fragmentSize: options.fragmentSize ?? 0,
      handshakeTimeout: options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout,
      closeTimeout: options.closeTimeout ?? DEFAULT_LIMITS.closeTimeout,
      pingInterval: options.pingInterval ?? 0,
      pongTimeout: options.pongTimeout ?? 30_000,
      idleTimeout: options.idleTimeout ?? 0,
      maxHandshakeBytes: options.maxHandshakeBytes ?? DEFAULT_LIMITS.maxHandshakeBytes,
      maxHeaders: options.maxHeaders ?? DEFAULT_LIMITS.maxHeaders,
    };
    this.#outbox = new Outbox(role === "client");
    this.#lastReceived = this.#clock.now();
    if (this.#opts.handshakeTimeout > 0) this.#handshakeDeadline = this.#lastReceived + this.#opts.handshakeTimeout;
  }

  // ---- Opening handshake -------------------------------------------------------------------

  /** Server role: starts reading an upgrade request. */
  static server(options: ConnectionOptions = {}): Connection {
    const c = new Connection("server", options);
    c.#head = new HeadParser({ maxBytes: c.#opts.maxHandshakeBytes, maxHeaders: c.#opts.maxHeaders });
    return c;
  }

  /** Client role: writes the upgrade request for `url` to the outbox. */
  static client(url: string | URL, options: ConnectionOptions & ClientRequestOptions = {}): Connection {
    const c = new Connection("client", options);
    c.#negotiator = options.negotiator;
    const req = buildRequest(typeof url === "string" ? new URL(url) : url, { ...options, extensions: options.extensions ?? options.negotiator?.offer });
    c.#clientKey = req.key;
    c.#clientProtocols = options.protocols ?? [];
    c.#head = new HeadParser({ maxBytes: c.#opts.maxHandshakeBytes, maxHeaders: c.#opts.maxHeaders });
    c.#outbox.writeRaw(req.bytes);
    return c;
  }

  /** Already upgraded (e.g. by an HTTP server): starts OPEN. */
  static open(role: Role, options: ConnectionOptions & { protocol?: string; extensions?: string; codec?: MessageCodec } = {}): Connection {
    const c = new Connection(role, options);
    c.#codec = options.codec;
    c.#becomeOpen(options.protocol ?? "", options.extensions ?? "");
    return c;
  }

  /** Server role: the request awaiting accept() or reject(). */
  get request(): UpgradeRequest | undefined {
    return this.#pendingRequest;
  }

  /** Server role: answers the pending request with 101 and opens the connection. */
  accept(options: AcceptOptions & { codec?: MessageCodec } = {}): void {
    const req = this.#pendingRequest;
    if (!req || this.state !== "connecting") throw new InvalidStateError("no upgrade request to accept");
    if (options.protocol && !req.protocols.includes(options.protocol)) throw new TypeError("accept: protocol was not offered");
    // The response is built first: invalid headers throw with the request still pending.
    const response = acceptResponse(req, options);
    this.#pendingRequest = undefined;
    this.#outbox.writeRaw(response);
    this.#codec = options.codec;
    this.#becomeOpen(options.protocol ?? "", options.extensions ?? "");
    const early = this.#earlyData;
    this.#earlyData = [];
    for (const chunk of early) this.#receiveFrames(chunk);
  }

  /** Server role: refuses the pending request with an HTTP error and closes. */
  reject(status = 400, headers: Record<string, string> = {}, message?: string): void {
    if (this.state !== "connecting" || this.role !== "server") throw new InvalidStateError("no upgrade request to reject");
    const response = rejectResponse(status, headers, message);
    this.#pendingRequest = undefined;
    this.#outbox.writeRaw(response);
    this.#finish(CloseCode.Abnormal, "", false);
    this.#shouldClose = true;
  }

  #becomeOpen(protocol: string, extensions: string): void {
    this.state = "open";
    this.protocol = protocol;
    this.extensions = extensions;
    this.#head = undefined;
    this.#handshakeDeadline = 0;
    this.#lastReceived = this.#clock.now();
    this.#scanner = new FrameScanner({
      role: this.role,
      maxFrameSize: this.#opts.maxFrameSize,
      maxMessageSize: this.#opts.maxMessageSize,
      rsv1Allowed: this.#codec !== undefined,
      skipUtf8: this.#opts.skipUTF8Validation,
    });
    this.#events.push({ type: "open", protocol, extensions });
  }

  #receiveHandshake(bytes: Uint8Array): void {
    if (this.#pendingRequest) {
      // Data sent before our 101: keep it for after accept(), within the handshake byte limit.
      this.#earlyBytes += bytes.length;
      if (this.#earlyBytes > this.#opts.maxFrameSize + this.#opts.maxHandshakeBytes) return this.#fail(new HandshakeError("too much data before the handshake completed", 400));
      this.#earlyData.push(new Uint8Array(bytes)); // a copy: the caller may reuse its buffer
      return;
    }
    let parsed;
    try {
      parsed = this.#head!.push(bytes);
    } catch (e) {
      return this.#handshakeFailed(e);
    }
    if (!parsed) return;
    if (this.role === "server") {
      let req: UpgradeRequest;
      try {
        req = parseUpgradeRequest(parsed.head);
      } catch (e) {
        return this.#handshakeFailed(e);
      }
      this.#pendingRequest = req;
      if (parsed.rest.length) {
        this.#earlyData.push(parsed.rest);
        this.#earlyBytes = parsed.rest.length;
      }
      this.#events.push({ type: "request", request: req });
    } else {
      try {
        const res = validateResponse(parsed.head, this.#clientKey, this.#clientProtocols);
        if (this.#negotiator) this.#codec = this.#negotiator.accept(res.extensions);
        else if (res.extensions) throw new HandshakeError("server accepted an extension we did not offer", 502, "WS_ERR_BAD_EXTENSIONS");
        this.#becomeOpen(res.protocol, res.extensions);
      } catch (e) {
        return this.#handshakeFailed(e);
      }
      if (parsed.rest.length) this.#receiveFrames(parsed.rest);
    }
  }


  #handshakeFailed(e: unknown): void {
    // By brand, not class: a negotiator or codec may come from another bundle (errors.ts).
    const err = isWebSocketError(e) ? e : new HandshakeError(String(e), 400);
    if (this.role === "server" && isHandshakeError(err)) this.#outbox.writeRaw(rejectResponse(err.status, err.headers));
    this.#events.push({ type: "error", error: err });
    this.#finish(CloseCode.Abnormal, "", false);
    this.#shouldClose = true;
  }

  // ---- Receiving ---------------------------------------------------------------------------

  /** Feeds bytes received from the transport. */
  receive(bytes: Uint8Array): void {
    if (!this.#noteReceived()) return;
    if (this.state === "connecting") return this.#receiveHandshake(bytes);
    this.#receiveFrames(bytes);
  }

  /** Notes that the peer sent something (its liveness); false once received bytes are ignored. */
  #noteReceived(): boolean {
    if (this.#closed || this.#shouldClose) return false;
    this.#lastReceived = this.#clock.now();
    this.#pingSentAt = 0;
    return true;
  }

  /**
   * Core memory a transport may read into (shared by every connection on the core): put bytes
   * there, then call receiveFromWindow(n) before anything else runs. Once the connection is open,
   * frames are scanned where they landed (no copy in); handshake bytes are copied out.
   */
  receiveWindow(): Uint8Array {
    return (this.#window ??= inputWindowOf(core()));
  }

  /** Feeds the first `n` bytes the transport read into receiveWindow(). */
  receiveFromWindow(n: number): void {
    const w = this.#window;
    if (!w) throw new InvalidStateError("receiveFromWindow: no window was handed out");
    if (!this.#noteReceived()) return;
    const scanner = this.#scanner;
    // Before the handshake completes (or on a core that changed since), the bytes are copied out.
    if (!scanner || this.state === "connecting" || scanner.inputWindow() !== w) {
      if (this.state === "connecting") return this.#receiveHandshake(w.slice(0, n));
      return this.#receiveFrames(w.slice(0, n));
    }
    this.#receiveFrames(n);
  }

  /** Scans bytes, or `n` bytes already in the scanner's input window. */
  #receiveFrames(bytes: Uint8Array | number): void {
    if (this.#stopReading || !this.#scanner) return;
    const first = this.#events.length;
    const err = typeof bytes === "number" ? this.#scanner.pushWindow(bytes, this) : this.#scanner.push(bytes, this);
    if (err !== ScanError.None && !this.#stopReading) {
      this.#stopReading = true;
      this.#failure ??= scanErrorToException(err, this.#scanner.errorHeader);
    }
    // React to what the walk produced, now that core memory is free again.
    const events = this.#events;
    for (let i = first; i < events.length; i++) {
      const ev = events[i]!;
      if (ev.type === "ping") {
        if (this.#opts.autoPong && this.state === "open") this.#outbox.writeFrame(Opcode.Pong, true, false, ev.data);
      } else if (ev.type === "message" && this.#compressedPayloads?.has(ev)) {
        this.#inflateInto(ev);
        if (this.#failure) {
          events.length = i;
          break;
        }
      } else if (ev.type === "closing") {
        this.#pendingPeerClose = ev;
      }
    }
    if (this.#failure) {
      this.#pendingFailure = this.#failure;
      this.#failure = undefined;
      this.#events.push({ type: "error", error: this.#pendingFailure });
    }
  }

  /**
   * What received bytes decided (a failure, the peer's close) takes effect here, when the adapter
   * next takes outgoing bytes: replies the application sends to the messages delivered before it
   * still go out, ahead of our close frame.
   */
  #settle(): void {
    const failure = this.#pendingFailure;
    const peerClose = this.#pendingPeerClose;
    this.#pendingFailure = undefined;
    this.#pendingPeerClose = undefined;
    if (failure) this.#applyFailure(failure);
    else if (peerClose) this.#onCloseFrame(peerClose.code, peerClose.reason);
  }

  #pendingFailure: WebSocketError | undefined;
  #pendingPeerClose: { code: number; reason: string } | undefined;

  /** True once the adapter should close the transport (after writing what is pending). */
  get transportShouldClose(): boolean {
    this.#settle();
    return this.#shouldClose;
  }

  /** FrameSink: called by the scanner for each frame piece, in order. No core calls in here. */
  onPiece(info: number, mem: Uint8Array, ptr: number, len: number, frameLen: number): void {
    if (this.#stopReading) return;
    const opcode = info & 0x0f;
    if (opcode >= 8) return this.#onControl(opcode, mem, ptr, len);
    const end = ptr + len;
    if (info & F_START) {
      if (opcode !== Opcode.Continuation) {
        this.#msgBinary = opcode === Opcode.Binary;
        this.#msgCompressed = (info & F_RSV1) !== 0;
        this.#msgFrames = 0;
        if ((info & (F_END | F_FIN)) === (F_END | F_FIN) && !this.#msgCompressed && !this.#opts.fragments) {
          // The common case: a whole message in one piece, turned into its final form directly.
          const data = this.#msgBinary || this.#opts.textAsBytes ? this.#createBinary(mem, ptr, end, false) : decodeUtf8(mem, ptr, end);
          this.#events.push({ type: "message", data, binary: this.#msgBinary });
          return;
        }
      }
      if (opcode !== Opcode.Continuation && (info & F_FIN) !== 0) this.#message.beginSingleFrame(frameLen, len);
      if (++this.#msgFrames > this.#opts.maxFragments) {
        this.#stopReading = true;
        this.#failure = new MessageTooBigError("too many fragments in one message", "WS_ERR_TOO_MANY_FRAGMENTS");
        return;
      }
    }
    const last = (info & (F_END | F_FIN)) === (F_END | F_FIN);
    if (this.#opts.fragments && !this.#msgCompressed) {
      if (len > 0 || last || this.#partsLen === 0) {
        this.#events.push({ type: "fragment", data: this.#createBinary(mem, ptr, end, false), binary: this.#msgBinary, first: this.#partsLen === 0 && (info & F_START) !== 0 && opcode !== 0, last });
      }
      this.#partsLen = last ? 0 : this.#partsLen + len + 1;
      return;
    }
    if (len > 0) this.#message.append(mem, ptr, len);
    if (last) {
      const bytes = this.#message.take();
      if (this.#msgCompressed) {
        // Inflated after the walk (the codec and UTF-8 check may use core memory).
        const ev: ConnectionEvent = { type: "message", data: "", binary: this.#msgBinary };
        (this.#compressedPayloads ??= new Map()).set(ev, bytes);
        this.#events.push(ev);
      } else {
        const data = this.#msgBinary || this.#opts.textAsBytes ? this.#createBinary(bytes, 0, bytes.length, true) : decodeUtf8(bytes, 0, bytes.length);
        this.#events.push({ type: "message", data, binary: this.#msgBinary });
      }
    }
  }

  /** Compressed messages awaiting inflation after the walk, by their (placeholder) event. */
  #compressedPayloads: Map<ConnectionEvent, Uint8Array> | undefined; // made on first use

  #inflateInto(ev: ConnectionEvent & { type: "message" }): void {
    const compressed = this.#compressedPayloads!.get(ev)!;
    this.#compressedPayloads!.delete(ev);
    try {
      const plain = this.#codec!.decode(compressed, this.#opts.maxMessageSize);
      if (ev.binary) {
        ev.data = this.#createBinary(plain, 0, plain.length, true);
      } else {
        if (!this.#opts.skipUTF8Validation && !isValidUtf8(plain)) throw new InvalidPayloadError("text message is not valid UTF-8");
        ev.data = this.#opts.textAsBytes ? this.#createBinary(plain, 0, plain.length, true) : decodeUtf8(plain, 0, plain.length);
      }
    } catch (e) {
      this.#stopReading = true;
      // A codec's errors keep their close code (1009 for a bomb) even from another bundle's classes.
      this.#failure = isWebSocketError(e) ? e : new InvalidPayloadError(`invalid compressed data: ${(e as Error).message}`, "WS_ERR_INVALID_COMPRESSED_DATA");
    }
  }

  #onControl(opcode: number, mem: Uint8Array, ptr: number, len: number): void {
    const data = len ? mem.slice(ptr, ptr + len) : EMPTY;
    if (opcode === Opcode.Ping) {
      this.#events.push({ type: "ping", data });
    } else if (opcode === Opcode.Pong) {
      this.#events.push({ type: "pong", data });
    } else {
      // Close: nothing after it is read (RFC 6455 §5.5.1).
      this.#stopReading = true;
      if (len === 0) return void this.#events.push({ type: "closing", code: CloseCode.NoStatus, reason: "" });
      if (len === 1) return void (this.#failure = new ProtocolError("close frame payload of 1 byte", "WS_ERR_INVALID_CLOSE_FRAME"));
      const code = (data[0]! << 8) | data[1]!;
      if (!isValidWireCloseCode(code)) return void (this.#failure = new ProtocolError(`invalid close code ${code}`, "WS_ERR_INVALID_CLOSE_CODE"));
      const reasonBytes = data.subarray(2);
      if (!this.#opts.skipUTF8Validation && validateJs(reasonBytes, 0) !== 0) return void (this.#failure = new InvalidPayloadError("close reason is not valid UTF-8"));
      this.#events.push({ type: "closing", code, reason: decodeUtf8(reasonBytes, 0, reasonBytes.length) });
    }
  }

  #onCloseFrame(code: number, reason: string): void {
    this.#closeReceived = true;
    // The connection's close code is the one in the first close frame received (RFC 6455 §7.1.5),
    // also when we closed first.
    this.closeCode = code;
    this.closeReason = reason;
    // Echo the peer's code and reason (RFC 6455 §5.5.1; ws echoes the reason too); a close without
    // a code is answered without one.
    if (!this.#closeSent) this.#writeClose(code === CloseCode.NoStatus ? undefined : code, reason);
    this.state = "closing";
    // Both close frames are exchanged: the server closes the TCP connection; a client ends its side
    // too (as ws does; a server that waits for the client's FIN would otherwise hold it until the
    // close timeout) and waits for the server's close within the driver's linger time.
    this.#shouldClose = true;
  }

  /** Fails the connection (RFC 6455 §7.1.7): send the error's close code, then close. */
  #fail(err: WebSocketError): void {
    this.#events.push({ type: "error", error: err });
    this.#applyFailure(err);
  }

  #applyFailure(err: WebSocketError): void {
    if (this.state === "connecting") {
      this.#finish(CloseCode.Abnormal, "", false);
      this.#shouldClose = true;
      return;
    }
    if (!this.#closeSent && this.state === "open") {
      this.closeCode = err.closeCode;
      this.closeReason = "";
      this.#writeClose(err.closeCode, "");
    }
    this.state = "closing";
    this.#shouldClose = true;
  }

  // ---- Sending -----------------------------------------------------------------------------

  /** Bytes produced but not yet taken by the adapter. */
  get bufferedAmount(): number {
    return this.#outbox.pending;
  }

  /**
   * Tells the connection its transport writes one buffer at a time (no writev), so takeOutgoing()'s
   * chunks will be joined: payloads up to 64 KiB are then copied into the outgoing buffer once
   * rather than queued apart and copied again by the join.
   */
  coalesceOutgoing(): void {
    this.#outbox.coalesce();
  }

  /**
   * The transport has finished with everything takeOutgoing() returned (it sent or copied it), so
   * the outgoing buffer may be reused. Only for transports that keep no reference to the chunks.
   */
  outgoingConsumed(): void {
    this.#outbox.recycle();
  }

  /** The bytes to write to the transport, in order. */
  takeOutgoing(): Uint8Array[] {
    this.#settle();
    return this.#outbox.take();
  }

  /** The events produced since the last call, in order. */
  takeEvents(): ConnectionEvent[] {
    const e = this.#events;
    if (e.length === 0) return e;
    this.#events = [];
    return e;
  }

  #assertOpen(what: string): boolean {
    if (this.state === "open") return true;
    if (this.state === "connecting") throw new InvalidStateError(`${what}: the connection is not open yet`);
    return false; // closing or closed: dropped, as browsers do
  }

  /**
   * Sends a message: a string as text, bytes as binary (or text with `binary: false`, when the
   * bytes are known-valid UTF-8). Returns false if the connection is closing or closed.
   */
  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView, options: { binary?: boolean; compress?: boolean } = {}): boolean {
    if (!this.#assertOpen("send")) return false;
    if (this.#sendingFragmented) throw new InvalidStateError("send: a fragmented message is in progress");
    const payload = toPayload(data);
    const binary = options.binary ?? typeof payload !== "string";
    const opcode = binary ? Opcode.Binary : Opcode.Text;
    let body: Uint8Array | string = payload;
    let rsv1 = false;
    if (this.#codec && options.compress !== false) {
      const enc = this.#codec.encode(payload);
      if (enc) {
        body = enc;
        rsv1 = true;
      }
    }
    const size = this.#opts.fragmentSize;
    if (size > 0 && (typeof body === "string" ? body.length * 3 > size : body.length > size)) {
      const bytes = typeof body === "string" ? encoder.encode(body) : body;
      for (let at = 0; at < bytes.length; at += size) {
        const last = at + size >= bytes.length;
        this.#outbox.writeFrame(at === 0 ? opcode : Opcode.Continuation, last, rsv1 && at === 0, bytes.subarray(at, at + size));
      }
      return true;
    }
    this.#outbox.writeFrame(opcode, true, rsv1, body);
    return true;
  }

  /**
   * Sends one fragment of a message; `fin` ends it. Fragments are sent uncompressed. Control
   * frames (ping, close) may be sent between fragments.
   */
  sendFragment(data: string | Uint8Array, options: { binary?: boolean; fin: boolean }): boolean {
    if (!this.#assertOpen("sendFragment")) return false;
    const opcode = this.#sendingFragmented ? Opcode.Continuation : options.binary ?? typeof data !== "string" ? Opcode.Binary : Opcode.Text;
    this.#outbox.writeFrame(opcode, options.fin, false, data);
    this.#sendingFragmented = !options.fin;
    return true;
  }

  ping(data: Uint8Array | string = EMPTY): boolean {
    return this.#control(Opcode.Ping, data);
  }

  pong(data: Uint8Array | string = EMPTY): boolean {
    return this.#control(Opcode.Pong, data);
  }

  #control(opcode: number, data: Uint8Array | string): boolean {
    if (!this.#assertOpen(opcode === Opcode.Ping ? "ping" : "pong")) return false;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > MAX_CONTROL_PAYLOAD) throw new RangeError("control frame payload over 125 bytes");
    this.#outbox.writeFrame(opcode, true, false, bytes);
    return true;
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2). `CloseCode.NoStatus` (1005) sends a close frame
   * without a status code (and so without a reason).
   */
  close(code: number = CloseCode.Normal, reason = ""): void {
    this.#settle();
    if (code !== CloseCode.Normal && code !== CloseCode.NoStatus && !isValidWireCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
    if (encoder.encode(reason).length > MAX_CLOSE_REASON_BYTES) throw new RangeError("close reason over 123 bytes");
    if (this.state === "connecting") {
      if (this.role === "server" && this.#pendingRequest) return this.reject(503);
      this.#finish(CloseCode.Abnormal, "", false);
      this.#shouldClose = true;
      return;
    }
    if (this.state !== "open") return;
    this.closeCode = code;
    this.closeReason = code === CloseCode.NoStatus ? "" : reason;
    this.#writeClose(code === CloseCode.NoStatus ? undefined : code, this.closeReason);
    this.state = "closing";
    this.#closeDeadline = this.#clock.now() + this.#opts.closeTimeout;
  }

  #writeClose(code: number | undefined, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    if (code === undefined) return this.#outbox.writeFrame(Opcode.Close, true, false, EMPTY);
    let r = encoder.encode(reason);
    // An echoed reason that re-encodes longer than a close frame allows (unchecked bytes decoded
    // with replacement characters) is left out.
    if (r.length > MAX_CLOSE_REASON_BYTES) r = EMPTY;
    const payload = new Uint8Array(2 + r.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(r, 2);
    this.#outbox.writeFrame(Opcode.Close, true, false, payload);
  }

  // ---- Transport and time ------------------------------------------------------------------

  /** The adapter reports that the transport closed (or failed). Ends the connection. */
  transportClosed(): void {
    if (this.#closed) return;
    this.#settle();
    const clean = this.#closeSent && this.#closeReceived;
    if (!this.#closeReceived && this.state !== "connecting") {
      this.closeCode = CloseCode.Abnormal;
      this.closeReason = "";
    }
    this.#finish(this.closeCode, this.closeReason, clean);
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#codec?.close?.();
    this.state = "closed";
    this.closeCode = code;
    this.closeReason = reason;
    this.#events.push({ type: "close", code, reason, wasClean });
  }

  /** The current time on the connection's clock (deadlines are times on it). */
  now(): number {
    return this.#clock.now();
  }

  /**
   * The adapter's transport has handed every byte taken so far to the peer's side. A close frame
   * queued behind a large send leaves only now, so its timeout starts again from here (RFC 6455
   * §7.1.1: the closing side waits for the peer's answer, not for its own backlog).
   */
  outgoingFlushed(): void {
    if (this.#closeSent && this.#closeDeadline && !this.#closed) this.#closeDeadline = this.#clock.now() + this.#opts.closeTimeout;
  }

  /** The next time `tick()` must be called, or undefined if no timer is needed. */
  nextDeadline(): number | undefined {
    if (this.#closed || this.transportShouldClose) return undefined;
    let d = Infinity;
    if (this.#handshakeDeadline) d = this.#handshakeDeadline;
    if (this.#closeDeadline) d = Math.min(d, this.#closeDeadline);
    if (this.state === "open") {
      if (this.#opts.pingInterval > 0) d = Math.min(d, this.#pingSentAt ? this.#pingSentAt + this.#opts.pongTimeout : this.#lastReceived + this.#opts.pingInterval);
      if (this.#opts.idleTimeout > 0) d = Math.min(d, this.#lastReceived + this.#opts.idleTimeout);
    }
    return d === Infinity ? undefined : d;
  }

  /** Runs what is due at the clock's current time: timeouts and keepalive pings. */
  tick(): void {
    if (this.#closed || this.transportShouldClose) return;
    const now = this.#clock.now();
    if (this.#handshakeDeadline && now >= this.#handshakeDeadline) {
      this.#events.push({ type: "error", error: new TimeoutError("opening handshake timed out", "WS_ERR_HANDSHAKE_TIMEOUT") });
      this.#finish(CloseCode.Abnormal, "", false);
      this.#shouldClose = true;
      return;
    }
    if (this.#closeDeadline && now >= this.#closeDeadline) {
      this.#shouldClose = true;
      return;
    }
    if (this.state !== "open") return;
    if (this.#opts.idleTimeout > 0 && now >= this.#lastReceived + this.#opts.idleTimeout) {
      this.close(CloseCode.GoingAway, "idle timeout");
      return;
    }
    if (this.#opts.pingInterval > 0) {
      if (this.#pingSentAt && now >= this.#pingSentAt + this.#opts.pongTimeout) {
        this.#events.push({ type: "error", error: new TimeoutError("no answer to keepalive ping", "WS_ERR_PONG_TIMEOUT") });
        this.#shouldClose = true;
      } else if (!this.#pingSentAt && now >= this.#lastReceived + this.#opts.pingInterval) {
        this.#pingSentAt = now;
        this.#outbox.writeFrame(Opcode.Ping, true, false, EMPTY);
      }
    }
  }
}

function toPayload(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("send: data must be a string, an ArrayBuffer or a view of one");
}
