// FrameScanner: feeds received bytes through the core's batched scan and hands each frame piece
// to a sink. One core call per slice of input (not per frame); the sink walks the table.
import { core } from "./select.js";
import type { CoreBackend } from "./backend.js";
import { arenaOf, receiveWindowOf, SLICE, TABLE_CAPACITY } from "./arena.js";
import * as L from "./layout.js";
import { ScanError } from "./layout.js";

export interface FrameScannerOptions {
  /** "server": peers' frames must be masked; "client": they must not be. */
  role: "server" | "client";
  /** Largest accepted frame payload (≤ 2^32 - 1). */
  maxFrameSize: number;
  /** Largest accepted message, fragments added up (≤ 2^32 - 1). */
  maxMessageSize: number;
  /** Whether RSV1 may be set (permessage-deflate negotiated). */
  rsv1Allowed?: boolean;
  /** Deliver text payloads unchecked (ws's skipUTF8Validation: the application trusts its peers). */
  skipUtf8?: boolean;
}

/**
 * Receives each frame piece. `bytes[ptr, ptr+len)` is the unmasked payload piece, valid only
 * during the call (it is core memory: copy or decode it, and do not call into the library).
 * `info` holds the opcode (info & 0x0f) and the F_* flags of src/core/layout.ts.
 */
export interface FrameSink {
  onPiece(info: number, bytes: Uint8Array, ptr: number, len: number, frameLen: number): void;
  /**
   * Optional, before the pieces of each scan pass: they lie below `end` in `bytes`, unmasked, and
   * bytes[ptr of the pass's first piece, end) stay as they are until the next onBatch.
   */
  onBatch?(end: number): void;
}

/**
 * During a push(chunk, sink, true): the chunk, given away by its caller, and where its bytes went
 * (window byte i came from chunk byte i + shift, for i >= from; bytes below `from` came from an
 * earlier call). A sink may copy a piece's unmasked payload back over its masked bytes in the chunk
 * and hand out a view of it instead of a copy of its own. Set by every scan (chunk undefined when
 * nothing is lent): module state, not fields, as a scan pass never runs inside another.
 */
export const lent: { chunk: Uint8Array | undefined; from: number; shift: number } = { chunk: undefined, from: 0, shift: 0 };

const U32_MAX = 0xffffffff;
/** The fields a scan carries over to the next: S_PHASE up to PERSISTENT_FIELDS. */
const LIVE_FIELDS = L.PERSISTENT_FIELDS - L.S_PHASE;

/** The configuration fields (S_CONFIG, S_MAX_FRAME, S_MAX_MESSAGE), one array per distinct configuration. */
const configs = new Map<string, Int32Array>();
function configOf(config: number, maxFrame: number, maxMessage: number): Int32Array {
  const key = `${config}:${maxFrame}:${maxMessage}`;
  let c = configs.get(key);
  if (!c) {
    c = new Int32Array(L.S_PHASE);
    c[L.S_CONFIG] = config;
    c[L.S_MAX_FRAME] = maxFrame;
    c[L.S_MAX_MESSAGE] = maxMessage;
    configs.set(key, c);
  }
  return c;
}

export class FrameScanner {
  readonly #backend: CoreBackend;
  readonly #config: Int32Array;
  /**
   * The scan state carried between calls, only while a frame or a fragmented message is under way:
   * between messages (expecting a header, no message in progress) the next frame sets every field
   * anew, so an idle connection holds none.
   */
  #live: Int32Array | undefined;
  /** Bytes a scan could not use yet (a split header or control frame), exactly; held only while there are some. */
  #tail: Uint8Array | undefined;

  constructor(options: FrameScannerOptions) {
    this.#backend = core();
    arenaOf(this.#backend);
    this.#config = configOf(
      (options.role === "server" ? L.CONFIG_PEER_MASKS : 0) | (options.rsv1Allowed ? L.CONFIG_RSV1_ALLOWED : 0) | (options.skipUtf8 ? L.CONFIG_SKIP_UTF8 : 0),
      Math.min(options.maxFrameSize, U32_MAX) >>> 0,
      Math.min(options.maxMessageSize, U32_MAX) >>> 0,
    );
  }

  /** Whether no frame or fragmented message is under way and no bytes wait: the next push() starts afresh. */
  protected holdsNothing(): boolean {
    return this.#live === undefined && this.#tail === undefined;
  }

  /**
   * Whether this scanner reads frames of the peer of this role (server: masked frames), with RSV1 or
   * not, on `backend` (the core changes only when a test forces another). Its limits are not compared.
   */
  fits(server: boolean, rsv1: boolean, backend: CoreBackend): boolean {
    const c = this.#config[L.S_CONFIG]!;
    return this.#backend === backend && ((c & L.CONFIG_PEER_MASKS) !== 0) === server && ((c & L.CONFIG_RSV1_ALLOWED) !== 0) === rsv1;
  }

  /**
   * After a header rule was broken: the offending frame's first two bytes (b0 << 8 | b1), or -1.
   * Only meaningful for errors found in a frame header (opcode, RSV, mask, lengths). A prototype
   * default (-1): written only when a scan fails, so not a field of every idle connection.
   */
  declare errorHeader: number;

  /**
   * Scans `chunk`, calling `sink.onPiece` for each frame piece in order. Returns the first rule
   * violation (pieces before it were delivered), or ScanError.None. `lend`: the caller gives the
   * chunk away (no one else reads or keeps it): the sink may find it in `lent` while it scans.
   */
  push(chunk: Uint8Array, sink: FrameSink, lend = false): ScanError {
    const b = this.#backend;
    const { windowPtr, size } = arenaOf(b);
    lent.chunk = lend ? chunk : undefined;
    lent.from = windowPtr;
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(SLICE, chunk.length - off);
      b.ensureMemory(size);
      b.bytes.set(n === chunk.length ? chunk : chunk.subarray(off, off + n), windowPtr);
      lent.shift = off - windowPtr;
      const err = this.#scanWindow(n, sink);
      if (err !== ScanError.None) return (lent.chunk = undefined), err;
      off += n;
    }
    lent.chunk = undefined; // (not kept alive by us)
    return ScanError.None;
  }

  /**
   * The core memory a transport may read into (SLICE bytes); then call pushWindow(n). Shared by
   * every scanner on this core: bytes put there must be pushed before anything else uses the core.
   */
  receiveWindow(): Uint8Array {
    return receiveWindowOf(this.#backend);
  }

  /** Scans the first `n` bytes of the receive window where they are: push() without the copy in. */
  pushWindow(n: number, sink: FrameSink): ScanError {
    if (n > SLICE) throw new RangeError("pushWindow: more bytes than the window holds");
    lent.chunk = undefined;
    this.#backend.ensureMemory(arenaOf(this.#backend).size);
    return this.#scanWindow(n, sink);
  }

  /** Scans the leftover of the last call (put back right before the window) and `n` window bytes. */
  #scanWindow(n: number, sink: FrameSink): ScanError {
    const b = this.#backend;
    const { statePtr, tablePtr, windowPtr } = arenaOf(b);
    const base = statePtr >> 2;
    let mem = b.bytes;
    let words = b.words;
    const tail = this.#tail;
    const tailLen = tail ? tail.length : 0;
    if (tail) mem.set(tail, windowPtr - tailLen);
    const config = this.#config;
    words[base + L.S_CONFIG] = config[L.S_CONFIG]!;
    words[base + L.S_MAX_FRAME] = config[L.S_MAX_FRAME]!;
    words[base + L.S_MAX_MESSAGE] = config[L.S_MAX_MESSAGE]!;
    const live = this.#live;
    for (let i = 0; i < LIVE_FIELDS; i++) words[base + L.S_PHASE + i] = live ? live[i]! : 0;
    let inPtr = windowPtr - tailLen;
    let inLen = tailLen + n;
    for (;;) {
      b.scan(inPtr, inLen, tablePtr, TABLE_CAPACITY, statePtr);
      mem = b.bytes;
      words = b.words;
      const count = words[base + L.S_COUNT]!;
      const consumed = words[base + L.S_CONSUMED]!;
      sink.onBatch?.(inPtr + consumed);
      let e = tablePtr >> 2;
      for (let i = 0; i < count; i++, e += L.ENTRY_FIELDS) {
        sink.onPiece(words[e + L.E_INFO]!, mem, words[e + L.E_PTR]!, words[e + L.E_LEN]!, words[e + L.E_FRAME_LEN]! >>> 0);
      }
      inPtr += consumed;
      inLen -= consumed;
      const err = words[base + L.S_ERROR]!;
      if (err !== ScanError.None) {
        // Scanning stopped at the offending frame: keep its first two bytes for the error message.
        this.errorHeader = inLen > 0 ? (mem[inPtr]! << 8) | (inLen > 1 ? mem[inPtr + 1]! : 0) : -1;
        this.#saveState(words, base);
        this.#tail = undefined;
        return err;
      }
      if (count < TABLE_CAPACITY) break;
    }
    this.#saveState(words, base);
    // What is left is at most an incomplete header or control frame (< TAIL_ROOM bytes), copied out:
    // a small copy per read that ends inside a frame head (the TAIL_ROOM buffer it went into before
    // was made anew too whenever the read before had left none).
    this.#tail = inLen > 0 ? mem.slice(inPtr, inPtr + inLen) : undefined;
    return ScanError.None;
  }

  #saveState(words: Int32Array, base: number): void {
    if (words[base + L.S_PHASE] === 0 && words[base + L.S_MSG_OPCODE] === 0) {
      this.#live = undefined;
      return;
    }
    const live = (this.#live ??= new Int32Array(LIVE_FIELDS));
    for (let i = 0; i < LIVE_FIELDS; i++) live[i] = words[base + L.S_PHASE + i]!;
  }
}
Object.defineProperty(FrameScanner.prototype, "errorHeader", { value: -1, writable: true, configurable: true, enumerable: false });
