// The receiving half of an open connection: scans frames (RFC 6455 §5), assembles messages,
// inflates compressed ones (RFC 7692) and appends the events to the caller's list. It decides what
// was received and whether it broke a rule; what to answer is the connection's.
import { FrameScanner, lent, type FrameSink } from "../core/frame-scanner.js";
import { core } from "../core/select.js";
import { F_ASCII, F_END, F_FIN, F_RSV1, F_START, ScanError } from "../core/layout.js";
import { isValidUtf8, validateJs } from "../core/api.js";
import { CloseCode, isValidWireCloseCode } from "./close-codes.js";
import { InvalidPayloadError, MessageTooBigError, ProtocolError, WebSocketError, isWebSocketError, scanErrorToException } from "./errors.js";
import { messageItem, type EventItem } from "./events.js";
import type { MessageCodec } from "./extensions/codec.js";
import type { TextCodec } from "../core/text.js";
import { MessageAssembler } from "./message-assembler.js";
import { Opcode } from "./opcodes.js";
import type { Settings } from "./options.js";

const EMPTY = new Uint8Array(0);
/** #out outside a receive(): nothing is pushed there. */
const NO_OUT = Object.freeze([]) as unknown as EventItem[];

/**
 * Short ASCII text messages of one scan pass are decoded together: the first one's bytes and what
 * follows it in the pass, up to SPAN_MAX bytes, in one decodeLatin1 call, each message then a
 * substring() of that (on JavaScriptCore and V8 a view of it, not a copy). A decoder call per
 * message cost more than the message's own work: 32 B echo on Bun 1.4.5, 16 messages a read,
 * latin1Slice ~25 ns a call, ~19 % of our JS per message (2026-12-03). A kept message may hold the
 * span alive: SPAN_MAX bounds that. Module state, not fields: a scan pass never runs inside another
 * (onPiece makes no core calls and runs no user code) and every pass starts with onBatch(), which
 * forgets the last span.
 */
const SPAN_MAX = 1024;
/** Messages up to this size take part; larger ones are decoded alone (the call is then a small part of their cost). */
const SPAN_PIECE_MAX = 256;
let spanText = "";
let spanStart = 0;
let spanEnd = 0;
/** Where the current scan pass's bytes end (onBatch). */
let batchEnd = 0;

/** Text known to be ASCII: a substring of the pass's span where the codec decodes Latin-1, else decoded alone. */
function decodeAscii(t: TextCodec, mem: Uint8Array, ptr: number, end: number): string {
  if (t.decodeLatin1 && end - ptr <= SPAN_PIECE_MAX) {
    if (ptr < spanStart || end > spanEnd) {
      spanStart = ptr;
      spanEnd = Math.max(end, Math.min(batchEnd, ptr + SPAN_MAX));
      spanText = t.decodeLatin1(mem, ptr, spanEnd);
    }
    return spanText.substring(ptr - spanStart, end - spanStart);
  }
  return t.decodeAscii ? t.decodeAscii(mem, ptr, end) : t.decode(mem, ptr, end);
}

/**
 * Binary messages from this size on, whole in a read its transport gave away (receive(..., true):
 * Bun hands every read to JS as a fresh buffer), are unmasked back into that buffer and handed out
 * as views of it, as ws's are views of Node's socket reads, instead of copies of their own. On
 * JavaScriptCore a typed array over 1 000 bytes is malloc'd apart from the GC heap, and a fresh one
 * per message is cold memory: 4 KiB echo on Bun 1.4.5, our JS per message (bench/e2e/bun-inprocess.mjs)
 * spent ~430 of ~790 ns making the message's copy. A kept message keeps its read alive, as in ws,
 * so only where the read is at most LEND_RATIO times the message (ws's 1 KiB message in a 64 KiB
 * Node read; a Bun read can be 512 KiB).
 */
const LEND_MIN = 1024;
const LEND_RATIO = 64;

/** The message's bytes, unmasked in core memory at [ptr, end), as a view of the lent chunk they came from. */
function lentBinary(s: Settings, mem: Uint8Array, ptr: number, end: number): Uint8Array {
  const chunk = lent.chunk!;
  const at = ptr + lent.shift;
  chunk.set(mem.subarray(ptr, end), at);
  return s.createBinary(chunk, at, at + end - ptr, true);
}

/**
 * A compressed message, complete, holding its place among the walk's events until the walk ends:
 * then it is inflated and replaced by its 'message' (the codec and the UTF-8 check may use core
 * memory, which holds the frames being walked).
 */
interface PendingInflate {
  type: typeof INFLATE;
  compressed: Uint8Array;
  binary: boolean;
}
const INFLATE = "inflate";

/**
 * Idle Inbounds, lent to connections for the length of a receive (issue 19): between messages an
 * Inbound holds nothing of its connection's (no message, scan state or leftover bytes; its codec
 * is the connection's), so an idle connection holds none, one 112 B object less on Bun. One list
 * for all settings and kinds (role, RSV1): a borrower takes the newest that fits, almost always the
 * last one given back (a list per settings, found by a WeakMap with a cache of the last, cost 32 B
 * echo in process on Bun +3-5 % ns/msg; this, +1 %, within noise). SPARE_MAX at most: beyond, the oldest go,
 * so those of a server gone do not stay. Module state: receives never run inside one another.
 */
const spares: Inbound[] = [];
const SPARE_MAX = 16;

/**
 * The scanner is this object's base class rather than a field: an idle connection holds one object
 * and one reference less (~40 B). Fields are few (12, a 112 B JSC cell: 17 took 160 B): the codec
 * is the connection's, passed to receive(); compressed messages wait in the event list itself; a
 * failure is what #stopped holds until receive() returns it.
 */
export class Inbound extends FrameScanner implements FrameSink {
  /**
   * Control frames met by every Inbound so far: the connection looks through a receive()'s events
   * for pings and closes only when this moved (a count shared by all, not a field: no memory per
   * connection). Walking every message to find none cost a type check each.
   */
  static controls = 0;
  readonly #s: Settings;
  /** Pieces of a message that did not arrive whole: made the first time one does. */
  #message: MessageAssembler | undefined;
  /** The caller's event list during a receive() (none outside one). */
  #out: EventItem[] = NO_OUT;
  // The message being received.
  #binary = false;
  #compressed = false;
  #frames = 0;
  /** Fragments mode: bytes of the current message delivered so far, plus one per fragment. */
  #partsLen = 0;
  /**
   * Set once a close frame or an error means later frames must be ignored: the error itself until
   * receive() returns it, true after.
   */
  #stopped: boolean | WebSocketError = false;

  /** `codec`: the one agreed in the opening handshake (RSV1 is allowed with one); receive() is given it. */
  constructor(role: "server" | "client", settings: Settings, codec: MessageCodec | undefined) {
    super({
      role,
      maxFrameSize: settings.maxFrameSize,
      maxMessageSize: settings.maxMessageSize,
      rsv1Allowed: codec !== undefined,
      skipUtf8: settings.skipUTF8Validation,
    });
    this.#s = settings;
  }

  /**
   * An Inbound for a receive of a connection of this role, settings and codec: an idle one given
   * back by another, or a new one. Give it back with release() once the receive is done.
   */
  static borrow(client: boolean, settings: Settings, codec: MessageCodec | undefined): Inbound {
    const rsv1 = codec !== undefined;
    const backend = core();
    for (let i = spares.length - 1; i >= 0; i--) {
      const spare = spares[i]!;
      if (spare.#s !== settings || !spare.fits(!client, rsv1, backend)) continue;
      const last = spares.pop()!;
      if (last !== spare) spares[i] = last;
      return spare;
    }
    return new Inbound(client ? "client" : "server", settings, codec);
  }

  /**
   * After a receive: if this holds nothing its connection needs (no message or frame under way, no
   * bytes waiting, not stopped), it goes back to the idle ones and true is returned: the caller
   * must then drop it. Otherwise the connection keeps it until a later receive leaves it idle.
   */
  release(): boolean {
    if (this.#stopped !== false || !this.holdsNothing()) return false;
    if (spares.length >= SPARE_MAX) spares.shift();
    spares.push(this);
    return true;
  }

  #assembler(): MessageAssembler {
    return (this.#message ??= new MessageAssembler(this.#s.allocate));
  }

  /**
   * Scans `bytes` (or the first `bytes` bytes of receiveWindow()), appending events to `out`;
   * compressed messages are inflated with `codec` (the one given to the constructor). `lend`: the
   * caller gives `bytes` away (FrameScanner.push): large binary messages may be views of them.
   * Returns the rule the peer broke, if any: events before it were appended, none after.
   */
  receive(bytes: Uint8Array | number, out: EventItem[], codec: MessageCodec | undefined, lend = false): WebSocketError | undefined {
    if (this.#stopped) return undefined;
    this.#out = out;
    const first = out.length;
    const err = typeof bytes === "number" ? this.pushWindow(bytes, this) : this.push(bytes, this, lend);
    if (err !== ScanError.None && !this.#stopped) this.#stopped = scanErrorToException(err, this.errorHeader);
    // Only a connection with a codec receives compressed messages (RSV1 is refused without one).
    if (codec) this.#inflatePending(out, first, codec);
    this.#out = NO_OUT;
    const stopped = this.#stopped as boolean | WebSocketError;
    if (typeof stopped === "boolean") return undefined;
    this.#stopped = true;
    return stopped;
  }

  /** FrameSink: a scan pass starts; its pieces lie below `end`. */
  onBatch(end: number): void {
    batchEnd = end;
    spanEnd = 0;
  }

  /** FrameSink: called by the scanner for each frame piece, in order. No core calls in here. */
  onPiece(info: number, mem: Uint8Array, ptr: number, len: number, frameLen: number): void {
    if (this.#stopped) return;
    const opcode = info & 0x0f;
    if (opcode >= 8) return this.#onControl(opcode, mem, ptr, len);
    const s = this.#s;
    const end = ptr + len;
    if (info & F_START) {
      if (opcode !== Opcode.Continuation) {
        this.#binary = opcode === Opcode.Binary;
        this.#compressed = (info & F_RSV1) !== 0;
        this.#frames = 0;
        if ((info & (F_END | F_FIN)) === (F_END | F_FIN) && !this.#compressed && !s.fragments) {
          // The common case: a whole message in one piece, turned into its final form directly and
          // kept as its data alone (events.ts, EventItem): no event object per message.
          const t = s.text;
          if (this.#binary) return void this.#out.push(len >= LEND_MIN && lent.chunk !== undefined && ptr >= lent.from && lent.chunk.length <= len * LEND_RATIO ? lentBinary(s, mem, ptr, end) : s.createBinary(mem, ptr, end, false));
          if (s.textAsBytes) return void this.#out.push({ type: "message", data: s.createBinary(mem, ptr, end, false), binary: false });
          this.#out.push(info & F_ASCII ? decodeAscii(t, mem, ptr, end) : t.decode(mem, ptr, end));
          return;
        }
      }
      if (opcode !== Opcode.Continuation && (info & F_FIN) !== 0) this.#assembler().beginSingleFrame(frameLen, len);
      if (++this.#frames > s.maxFragments) {
        this.#stopped = new MessageTooBigError("too many fragments in one message", "WS_ERR_TOO_MANY_FRAGMENTS");
        return;
      }
    }
    const last = (info & (F_END | F_FIN)) === (F_END | F_FIN);
    if (s.fragments && !this.#compressed) {
      if (len > 0 || last || this.#partsLen === 0) {
        const first = this.#partsLen === 0 && (info & F_START) !== 0 && opcode !== 0;
        this.#out.push({ type: "fragment", data: s.createBinary(mem, ptr, end, false), binary: this.#binary, first, last });
      }
      this.#partsLen = last ? 0 : this.#partsLen + len + 1;
      return;
    }
    if (len > 0) this.#assembler().append(mem, ptr, len);
    if (!last) return;
    const bytes = this.#assembler().take();
    if (this.#compressed) {
      this.#out.push({ type: INFLATE, compressed: bytes, binary: this.#binary } satisfies PendingInflate as unknown as EventItem);
    } else {
      const data = this.#binary || s.textAsBytes ? s.createBinary(bytes, 0, bytes.length, true) : s.text.decode(bytes, 0, bytes.length);
      this.#out.push(messageItem(data, this.#binary));
    }
  }

  #onControl(opcode: number, mem: Uint8Array, ptr: number, len: number): void {
    Inbound.controls++;
    const data = len ? mem.slice(ptr, ptr + len) : EMPTY;
    if (opcode === Opcode.Ping) return void this.#out.push({ type: "ping", data });
    if (opcode === Opcode.Pong) return void this.#out.push({ type: "pong", data });
    // Close: nothing after it is read (RFC 6455 §5.5.1).
    this.#stopped = true;
    if (len === 0) return void this.#out.push({ type: "closing", code: CloseCode.NoStatus, reason: "" });
    if (len === 1) return void (this.#stopped = new ProtocolError("close frame payload of 1 byte", "WS_ERR_INVALID_CLOSE_FRAME"));
    const code = (data[0]! << 8) | data[1]!;
    if (!isValidWireCloseCode(code)) return void (this.#stopped = new ProtocolError(`invalid close code ${code}`, "WS_ERR_INVALID_CLOSE_CODE"));
    if (!this.#s.skipUTF8Validation && validateJs(data.subarray(2), 0) !== 0) return void (this.#stopped = new InvalidPayloadError("close reason is not valid UTF-8"));
    this.#out.push({ type: "closing", code, reason: this.#s.text.decode(data, 2, data.length) });
  }

  /** Replaces each compressed message among the walk's events by its inflated one; a failure drops it and what follows. */
  #inflatePending(out: EventItem[], first: number, codec: MessageCodec): void {
    for (let i = first; i < out.length; i++) {
      // Bare messages (strings, bytes) have no type: only the placeholders are inflated.
      const p = out[i] as unknown as PendingInflate;
      if (p.type !== INFLATE) continue;
      const ev = this.#inflated(p, codec);
      if (ev === undefined) { // ("" is an empty text message)
        out.length = i;
        return;
      }
      out[i] = ev;
    }
  }

  #inflated(p: PendingInflate, codec: MessageCodec): EventItem | undefined {
    const s = this.#s;
    try {
      const plain = codec.decode(p.compressed, s.maxMessageSize);
      if (p.binary) return s.createBinary(plain, 0, plain.length, true);
      if (!s.skipUTF8Validation && !isValidUtf8(plain)) throw new InvalidPayloadError("text message is not valid UTF-8");
      const data = s.textAsBytes ? s.createBinary(plain, 0, plain.length, true) : s.text.decode(plain, 0, plain.length);
      return messageItem(data, false);
    } catch (e) {
      // A codec's errors keep their close code (1009 for a bomb) even from another bundle's classes.
      this.#stopped = isWebSocketError(e) ? e : new InvalidPayloadError(`invalid compressed data: ${(e as Error).message}`, "WS_ERR_INVALID_COMPRESSED_DATA");
      return undefined;
    }
  }
}
