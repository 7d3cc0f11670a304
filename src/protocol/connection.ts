// The connection state machine (RFC 6455 §4–§7) as a sans-I/O object: feed it received bytes,
// take the bytes it wants written and the events it produced. It never touches a socket, a timer or
// a clock of its own: adapters call `receive`, `takeOutgoing`, `takeEvents`, and `tick` after
// `nextDeadline()` milliseconds, measured on the clock they injected.
//
// This file holds the lifecycle (connecting, open, closing, closed), the close handshake and the
// public API; its parts own the rest: options.ts (settings), handshake/opening.ts (the opening
// handshake of each role), inbound.ts (frames in, messages out), outbound.ts (messages out),
// outbox.ts (frame bytes), deadlines.ts (time). It runs past 350 lines because it is the whole
// public surface of the sans-I/O object: each method is a few lines of state change or delegation.
import { receiveWindowOf } from "../core/arena.js";
import { core } from "../core/select.js";
import { encoder } from "../core/text.js";
import { CloseCode, isValidWireCloseCode, MAX_CLOSE_REASON_BYTES } from "./close-codes.js";
import { Deadlines, Due } from "./deadlines.js";
import { HandshakeError, InvalidStateError, TimeoutError, WebSocketError, isHandshakeError, isWebSocketError } from "./errors.js";
import { itemEvent, type Clock, type ConnectionEvent, type EventItem, type ReadyState } from "./events.js";
import type { MessageCodec } from "./extensions/codec.js";
import type { ClientRequestOptions } from "./handshake/client.js";
import { ClientOpening, ServerOpening } from "./handshake/opening.js";
import { rejectResponse, type AcceptOptions, type UpgradeRequest } from "./handshake/server.js";
import { Inbound } from "./inbound.js";
import { Opcode } from "./opcodes.js";
import { resolveSettings, type ConnectionOptions, type Settings } from "./options.js";
import { Outbound, type SendData } from "./outbound.js";
import type { PreparedMessage } from "./prepared.js";

export type { ConnectionOptions } from "./options.js";
export type { MessageCodec } from "./extensions/codec.js";

const EMPTY = new Uint8Array(0);
/** takeEvents() when nothing happened: shared, never written to. */
const NO_EVENTS = Object.freeze([]) as unknown as EventItem[];

type Role = "server" | "client";

/** What an opening handshake agreed on. */
interface Agreed {
  protocol?: string;
  extensions?: string;
  codec?: MessageCodec;
}

const C_CLOSE_RECEIVED = 1, C_SHOULD_CLOSE = 2, C_CLOSED = 4, C_CLIENT = 8;
/** The ready state, in bits 4-5 of the flags: an index into STATES. */
const S_SHIFT = 4, S_MASK = 3 << S_SHIFT, S_CONNECTING = 0, S_OPEN = 1 << S_SHIFT, S_CLOSING = 2 << S_SHIFT, S_CLOSED = 3 << S_SHIFT;
const STATES: readonly ReadyState[] = ["connecting", "open", "closing", "closed"];

/**
 * Fields are few on purpose: an idle server connection is one object per part (this one, with its
 * deadlines as base class, inbound and outbound), and the engines size each by its field count
 * (JSC: up to 12 fields in 112 B, up to 18 in 160 B). Rare ones are prototype defaults (protocol,
 * extensions, closeCode, closeReason) or flags (the role, the ready state), and the codec is the
 * outbound's.
 */
export class Connection extends Deadlines {
  /** The subprotocol and extensions agreed on (prototype defaults: "", written when not empty). */
  declare protocol: string;
  declare extensions: string;
  /** The close code and reason that ended (or are ending) the connection (prototype defaults: 1006, ""). */
  declare closeCode: number;
  declare closeReason: string;

  /** Events not yet taken: made with the first one (an idle connection holds no list). */
  #events: EventItem[] | undefined;
  /** Until open: the opening handshake of our role. */
  #opening: ServerOpening | ClientOpening | undefined;
  /**
   * The receiving half, only while a message or frame is under way or after the peer's close or a
   * failure (it then ignores what follows): between messages it goes back to the idle ones shared
   * by connections alike (Inbound.borrow) and each receive borrows one, so an idle connection holds
   * none (issue 19: 112 B on Bun).
   */
  #inbound: Inbound | undefined;
  /** The core memory handed to the transport by receiveWindow(). */
  #window: Uint8Array | undefined;
  readonly #outbound: Outbound;
  /**
   * Flags in one integer (8 B per idle connection each, not 32): C_CLOSE_RECEIVED (the peer's close
   * frame arrived; ours is the outbound's closeSent), C_SHOULD_CLOSE, C_CLOSED, C_CLIENT (the role),
   * and the ready state (S_*).
   */
  #flags = 0;
  /** What received bytes decided (a failure, or the peer's close), applied when the adapter next takes outgoing bytes (#settle). */
  #pending: WebSocketError | { type: "closing"; code: number; reason: string } | undefined;

  constructor(role: Role, options: ConnectionOptions = {}) {
    super(options.clock, resolveSettings(options));
    if (role === "client") this.#flags = C_CLIENT;
    this.#outbound = new Outbound(role === "client", this.settings);
  }

  /** "connecting", "open", "closing" or "closed". */
  get state(): ReadyState {
    return STATES[(this.#flags & S_MASK) >> S_SHIFT]!;
  }

  #setState(state: number): void {
    this.#flags = (this.#flags & ~S_MASK) | state;
  }

  #is(state: number): boolean {
    return (this.#flags & S_MASK) === state;
  }

  get role(): Role {
    return this.#flags & C_CLIENT ? "client" : "server";
  }

  // ---- Opening handshake -------------------------------------------------------------------

  /** Server role: starts reading an upgrade request. */
  static server(options: ConnectionOptions = {}): Connection {
    const c = new Connection("server", options);
    c.#opening = new ServerOpening(c.settings);
    return c;
  }

  /** Client role: writes the upgrade request for `url` to the outbox. */
  static client(url: string | URL, options: ConnectionOptions & ClientRequestOptions = {}): Connection {
    const c = new Connection("client", options);
    const opening = new ClientOpening(typeof url === "string" ? new URL(url) : url, options, c.settings);
    c.#opening = opening;
    c.#outbound.writeRaw(opening.request);
    return c;
  }

  /**
   * Already upgraded (e.g. by an HTTP server): starts OPEN. What the upgrade agreed may come apart
   * from the options (`agreed`), so that one options object serves every connection of a server and
   * their settings are resolved once (resolveSettings() keeps them per options object).
   */
  static open(role: Role, options: ConnectionOptions & Agreed = {}, agreed: Agreed = options): Connection {
    const c = new Connection(role, options);
    c.#becomeOpen(agreed.protocol ?? "", agreed.extensions ?? "", agreed.codec);
    return c;
  }

  /** Server role: the request awaiting accept() or reject(). */
  get request(): UpgradeRequest | undefined {
    return this.#opening instanceof ServerOpening ? this.#opening.request : undefined;
  }

  /** Server role: answers the pending request with 101 and opens the connection. */
  accept(options: AcceptOptions & { codec?: MessageCodec } = {}): void {
    const opening = this.#opening;
    if (!(opening instanceof ServerOpening) || !opening.request || !this.#is(S_CONNECTING)) throw new InvalidStateError("no upgrade request to accept");
    // The response is built first: invalid options throw with the request still pending.
    this.#outbound.writeRaw(opening.accept(options));
    this.#becomeOpen(options.protocol ?? "", options.extensions ?? "", options.codec);
    for (const chunk of opening.takeEarlyData()) this.#receiveFrames(chunk);
  }

  /** Server role: refuses the pending request with an HTTP error and closes. */
  reject(status = 400, headers: Record<string, string> = {}, message?: string): void {
    if (!this.#is(S_CONNECTING) || this.role !== "server") throw new InvalidStateError("no upgrade request to reject");
    const response = rejectResponse(status, headers, message);
    this.#opening = undefined;
    this.#outbound.writeRaw(response);
    this.#finishNow();
  }

  #becomeOpen(protocol: string, extensions: string, codec: MessageCodec | undefined): void {
    this.#setState(S_OPEN);
    if (protocol) this.protocol = protocol;
    if (extensions) this.extensions = extensions;
    this.#opening = undefined;
    this.#outbound.useCodec(codec);
    this.timeOpened();
    (this.#events ??= []).push({ type: "open", protocol, extensions });
  }

  #receiveHandshake(bytes: Uint8Array): void {
    const opening = this.#opening;
    if (!opening) return;
    try {
      if (opening instanceof ServerOpening) {
        const request = opening.receive(bytes);
        if (request) (this.#events ??= []).push({ type: "request", request });
        return;
      }
      const opened = opening.receive(bytes);
      if (!opened) return;
      this.#becomeOpen(opened.protocol, opened.extensions, opened.codec);
      if (opened.rest.length) this.#receiveFrames(opened.rest);
    } catch (e) {
      // By brand, not class: a negotiator or codec may come from another bundle (errors.ts).
      const err = isWebSocketError(e) ? e : new HandshakeError(String(e), 400);
      if (this.role === "server" && isHandshakeError(err)) this.#outbound.writeRaw(rejectResponse(err.status, err.headers));
      (this.#events ??= []).push({ type: "error", error: err });
      this.#finishNow();
    }
  }

  // ---- Receiving ---------------------------------------------------------------------------

  /**
   * Feeds bytes received from the transport. `lend`: the caller gives `bytes` away (nothing else
   * reads, writes or keeps them, as a runtime's fresh buffer per read): received binary messages of
   * 1 KiB or more may then be views of them, unmasked in place, instead of copies.
   */
  receive(bytes: Uint8Array, lend = false): void {
    if (this.#flags & (C_CLOSED | C_SHOULD_CLOSE)) return;
    this.timeReceived();
    if (this.#is(S_CONNECTING)) return this.#receiveHandshake(bytes);
    this.#receiveFrames(bytes, lend);
  }

  /**
   * Core memory a transport may read into (shared by every connection on the core): put bytes
   * there, then call receiveFromWindow(n) before anything else runs. Once the connection is open,
   * frames are scanned where they landed (no copy in); handshake bytes are copied out.
   */
  receiveWindow(): Uint8Array {
    return (this.#window ??= receiveWindowOf(core()));
  }

  /** Feeds the first `n` bytes the transport read into receiveWindow(). */
  receiveFromWindow(n: number): void {
    const w = this.#window;
    if (!w) throw new InvalidStateError("receiveFromWindow: no window was handed out");
    if (this.#flags & (C_CLOSED | C_SHOULD_CLOSE)) return;
    this.timeReceived();
    if (this.#is(S_CONNECTING)) return this.#receiveHandshake(w.slice(0, n));
    // On a core that changed since the window was handed out, the bytes are copied out.
    const inbound = this.#inboundNow();
    if (inbound) this.#receiveFrames(inbound.receiveWindow() === w ? n : w.slice(0, n));
  }

  /** The receiving half, borrowed if the connection holds none (only once open: before, or closed, none). */
  #inboundNow(): Inbound | undefined {
    const inbound = this.#inbound;
    if (inbound !== undefined || !(this.#is(S_OPEN) || this.#is(S_CLOSING))) return inbound;
    return (this.#inbound = Inbound.borrow((this.#flags & C_CLIENT) !== 0, this.settings, this.#outbound.codec));
  }

  /** Scans bytes (or `n` bytes already in the receive window), then reacts to what arrived. */
  #receiveFrames(bytes: Uint8Array | number, lend = false): void {
    const inbound = this.#inboundNow();
    if (!inbound) return;
    const events = (this.#events ??= []);
    const first = events.length;
    const controls = Inbound.controls;
    const codec = this.#outbound.codec;
    const failure = inbound.receive(bytes, events, codec, lend);
    if (inbound.release()) this.#inbound = undefined;
    // Pings and close frames: looked for only when the read held control frames.
    if (Inbound.controls !== controls) for (let i = first; i < events.length; i++) {
      const ev = events[i]!;
      // Whole messages kept as their data alone (strings, bytes) are neither.
      if (typeof ev !== "object" || ArrayBuffer.isView(ev)) continue;
      if (ev.type === "ping") {
        if (this.settings.autoPong && this.#is(S_OPEN)) this.#outbound.writeFrame(Opcode.Pong, true, false, ev.data);
      } else if (ev.type === "closing") {
        this.#pending = ev;
      }
    }
    if (failure) {
      this.#pending = failure;
      events.push({ type: "error", error: failure });
    }
  }

  /**
   * What received bytes decided (a failure, the peer's close) takes effect here, when the adapter
   * next takes outgoing bytes: replies the application sends to the messages delivered before it
   * still go out, ahead of our close frame.
   */
  #settle(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    // A failure found in the same read as a close frame wins (it is set after it).
    if ("type" in pending && pending.type === "closing") this.#onCloseFrame(pending.code, pending.reason);
    else this.#applyFailure(pending as WebSocketError);
  }

  /** True once the adapter should close the transport (after writing what takeOutgoing() returned). */
  get transportShouldClose(): boolean {
    return (this.#flags & C_SHOULD_CLOSE) !== 0;
  }

  #onCloseFrame(code: number, reason: string): void {
    this.#flags |= C_CLOSE_RECEIVED;
    // The connection's close code is the one in the first close frame received (RFC 6455 §7.1.5),
    // also when we closed first.
    this.closeCode = code;
    this.closeReason = reason;
    // Echo the peer's code and reason (RFC 6455 §5.5.1; ws echoes the reason too); a close without
    // a code is answered without one.
    if (!this.#outbound.closeSent) this.#outbound.close(code === CloseCode.NoStatus ? undefined : code, reason);
    this.#setState(S_CLOSING);
    // Both close frames are exchanged: the server closes the TCP connection; a client ends its side
    // too (as ws does; a server that waits for the client's FIN would otherwise hold it until the
    // close timeout) and waits for the server's close within the driver's linger time.
    this.#flags |= C_SHOULD_CLOSE;
  }

  /** Fails the connection (RFC 6455 §7.1.7): send the error's close code, then close. */
  #applyFailure(err: WebSocketError): void {
    if (this.#is(S_CONNECTING)) return this.#finishNow();
    if (!this.#outbound.closeSent && this.#is(S_OPEN)) {
      this.closeCode = err.closeCode;
      this.closeReason = "";
      this.#outbound.close(err.closeCode, "");
    }
    this.#setState(S_CLOSING);
    this.#flags |= C_SHOULD_CLOSE;
  }

  // ---- Sending -----------------------------------------------------------------------------

  /** Bytes produced but not yet taken by the adapter. */
  get bufferedAmount(): number {
    return this.#outbound.pending;
  }

  /**
   * Tells the connection its transport writes one buffer at a time (no writev), so takeOutgoing()'s
   * chunks will be joined: payloads up to 64 KiB are then copied into the outgoing buffer once
   * rather than queued apart and copied again by the join.
   */
  coalesceOutgoing(): void {
    this.#outbound.coalesce();
  }

  /**
   * The transport has finished with everything takeOutgoing() returned (it sent or copied it), so
   * the outgoing buffer may be reused. Only for transports that keep no reference to the chunks.
   */
  outgoingConsumed(): void {
    this.#outbound.recycle();
  }

  /** The bytes to write to the transport, in order (a failure or the peer's close takes effect first). */
  takeOutgoing(): Uint8Array[] {
    this.#settle();
    return this.#outbound.take();
  }

  /**
   * takeOutgoing() for transports that write (buffer, offset, length): when the bytes to write are
   * one run of the outgoing buffer, returns its length (0: none) and leaves it at
   * outgoingRangeBytes[outgoingRangeOffset…], with no array or subarray made; -1: call takeOutgoing().
   */
  takeOutgoingRange(): number {
    this.#settle();
    return this.#outbound.takeRange();
  }

  get outgoingRangeBytes(): Uint8Array {
    return this.#outbound.rangeBytes;
  }

  get outgoingRangeOffset(): number {
    return this.#outbound.rangeOffset;
  }

  /** The events produced since the last call, in order. */
  takeEvents(): ConnectionEvent[] {
    const e = this.takeItems();
    if (e === NO_EVENTS) return e as ConnectionEvent[];
    for (let i = 0; i < e.length; i++) e[i] = itemEvent(e[i]!);
    return e as ConnectionEvent[];
  }

  /**
   * @internal takeEvents() as the connection keeps them: whole messages may be their data alone (a
   * string: text, bytes: binary; events.ts, EventItem). For the driver, which dispatches those
   * without making an event object each.
   */
  takeItems(): EventItem[] {
    const e = this.#events;
    this.#events = undefined;
    return e && e.length > 0 ? e : NO_EVENTS;
  }

  #assertOpen(what: string): boolean {
    if (this.#is(S_OPEN)) return true;
    if (this.#is(S_CONNECTING)) throw new InvalidStateError(`${what}: the connection is not open yet`);
    return false; // closing or closed: dropped, as browsers do
  }

  /**
   * Sends a message: a string as text, bytes as binary (or text with `binary: false`, when the
   * bytes are known-valid UTF-8). Returns false if the connection is closing or closed.
   */
  send(data: SendData, options: { binary?: boolean; compress?: boolean } = {}): boolean {
    if (!this.#assertOpen("send")) return false;
    this.#outbound.send(data, options);
    return true;
  }

  /**
   * Sends a message prepared once for many connections (publish/subscribe): the same frame bytes
   * for every connection that can take them. False if the connection is not open, or is in the
   * middle of a fragmented message.
   */
  sendPrepared(msg: PreparedMessage): boolean {
    if (!this.#is(S_OPEN)) return false;
    return this.#outbound.sendPrepared(msg, this.role === "client");
  }

  /**
   * Sends one fragment of a message; `fin` ends it. Fragments are sent uncompressed. Control
   * frames (ping, close) may be sent between fragments.
   */
  sendFragment(data: string | Uint8Array, options: { binary?: boolean; fin: boolean }): boolean {
    if (!this.#assertOpen("sendFragment")) return false;
    this.#outbound.sendFragment(data, options.binary, options.fin);
    return true;
  }

  ping(data: Uint8Array | string = EMPTY): boolean {
    if (!this.#assertOpen("ping")) return false;
    this.#outbound.control(Opcode.Ping, data);
    return true;
  }

  pong(data: Uint8Array | string = EMPTY): boolean {
    if (!this.#assertOpen("pong")) return false;
    this.#outbound.control(Opcode.Pong, data);
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
    if (this.#is(S_CONNECTING)) {
      if (this.request) return this.reject(503);
      return this.#finishNow();
    }
    if (!this.#is(S_OPEN)) return;
    this.closeCode = code;
    this.closeReason = code === CloseCode.NoStatus ? "" : reason;
    this.#outbound.close(code === CloseCode.NoStatus ? undefined : code, this.closeReason);
    this.#setState(S_CLOSING);
    this.timeCloseSent();
  }

  // ---- Transport and time ------------------------------------------------------------------

  /** The adapter reports that the transport closed (or failed). Ends the connection. */
  transportClosed(): void {
    if (this.#flags & C_CLOSED) return;
    this.#settle();
    const clean = this.#outbound.closeSent && (this.#flags & C_CLOSE_RECEIVED) !== 0;
    if (!(this.#flags & C_CLOSE_RECEIVED) && !this.#is(S_CONNECTING)) {
      this.closeCode = CloseCode.Abnormal;
      this.closeReason = "";
    }
    this.#finish(this.closeCode, this.closeReason, clean);
  }

  /** Ends a connection that never opened (or was refused): 1006, and the transport is closed. */
  #finishNow(): void {
    this.#finish(CloseCode.Abnormal, "", false);
    this.#flags |= C_SHOULD_CLOSE;
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#flags & C_CLOSED) return;
    this.#flags |= C_CLOSED;
    this.#outbound.codec?.close?.();
    this.#setState(S_CLOSED);
    this.closeCode = code;
    this.closeReason = reason;
    (this.#events ??= []).push({ type: "close", code, reason, wasClean });
  }

  /**
   * The adapter's transport has handed every byte taken so far to the peer's side. A close frame
   * queued behind a large send leaves only now, so its timeout starts again from here.
   */
  outgoingFlushed(): void {
    if (this.#outbound.closeSent && !(this.#flags & C_CLOSED)) this.timeFlushed();
  }

  /**
   * Gives the connection its time source if it was made without one (the driver passes the system
   * clock when it starts running the connection): its deadlines are measured from now on.
   */
  useClock(clock: Clock): void {
    if (!this.hasClock && !(this.#flags & C_CLOSED)) this.startClock(clock, this.#is(S_CONNECTING));
  }

  /** Milliseconds until `tick()` must be called, or undefined if no timer is needed (or no clock was given). */
  nextDeadline(): number | undefined {
    if (this.#flags & (C_CLOSED | C_SHOULD_CLOSE)) return undefined;
    return this.timeDelay(this.state);
  }

  /** Runs what is due on the clock now: timeouts and keepalive pings. */
  tick(): void {
    this.#settle();
    if (this.#flags & (C_CLOSED | C_SHOULD_CLOSE)) return;
    switch (this.timeDue(this.state)) {
      case Due.HandshakeTimeout:
        (this.#events ??= []).push({ type: "error", error: new TimeoutError("opening handshake timed out", "WS_ERR_HANDSHAKE_TIMEOUT") });
        return this.#finishNow();
      case Due.CloseTimeout:
        this.#flags |= C_SHOULD_CLOSE;
        return;
      case Due.Idle:
        return this.close(CloseCode.GoingAway, "idle timeout");
      case Due.PongTimeout:
        (this.#events ??= []).push({ type: "error", error: new TimeoutError("no answer to keepalive ping", "WS_ERR_PONG_TIMEOUT") });
        this.#flags |= C_SHOULD_CLOSE;
        return;
      case Due.Ping:
        this.#outbound.writeFrame(Opcode.Ping, true, false, EMPTY);
    }
  }
}
// Written only once a connection closes: defaults on the prototype, not a field in every connection.
for (const [name, value] of [["protocol", ""], ["extensions", ""], ["closeCode", CloseCode.Abnormal], ["closeReason", ""]] as const) {
  Object.defineProperty(Connection.prototype, name, { value, writable: true, configurable: true, enumerable: false });
}
