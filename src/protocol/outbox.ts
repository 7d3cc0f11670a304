// Frame encoder and outgoing byte queue. Small frames are written straight into a slab (header
// and payload side by side, strings encoded in place), so a burst of replies leaves as one chunk.
// Large payloads from a server are queued as they are, behind their header: never copied.
// Over 350 lines: take() has a twin, takeRange(), that hands the slab out as (buffer, offset, length).
import { mask, maskInto } from "../core/api.js";
import { encoder, type TextCodec } from "../core/text.js";
import { writeMaskKey } from "./mask-keys.js";

/** Slabs start small (an idle connection holds none) and double while a connection keeps writing. */
const SLAB_MIN = 1024;
const SLAB_MAX = 64 * 1024;
const EMPTY = new Uint8Array(0);
/**
 * Payloads up to this size are copied into the slab; larger ones travel as their own chunk. A
 * server never needs to copy (no masking), so it copies only what is cheaper than a separate
 * chunk; a client must write a masked copy anyway, so the slab takes more.
 */
const INLINE_MAX_SERVER = 512;
const INLINE_MAX_CLIENT = 16 * 1024;
/** Strings up to this many UTF-16 units are encoded straight into the slab. */
const INLINE_STRING_MAX = 8 * 1024;
/**
 * A client's text up to this length is tried as ASCII, encoded and masked in one JS pass: the
 * encoder call and the separate masking pass cost more than the loop for short messages.
 */
const FUSED_ASCII_MAX = 125;
const MAX_HEADER = 14;
/**
 * A client's masked copy of a large payload is reused for the next one once the transport is done
 * with it (recycle()), up to this size, and only while every batch sends one: a fresh 1 MiB buffer
 * costs ~450 us of page faults on first touch on Node 20, more than masking and copying it.
 */
const SPARE_BODY_MAX = 4 * 1024 * 1024;

/**
 * Slabs given back by connections whose output has all left (recycle()), by size, for the next
 * connection that writes: a connection holds a slab only between writing and its write completing,
 * so an idle one holds none (answering a keepalive ping used to leave 1 KiB behind in each).
 */
const freeSlabs = new Map<number, Uint8Array[]>();
/** At most 16 slabs and 256 KiB kept per size. */
const freePerSize = (size: number) => Math.min(16, Math.max(2, (256 * 1024) / size));
/** The largest slab: a full SLAB_MAX of payload with its header, rounded up. */
const SLAB_TOP = 2 * SLAB_MAX;

function isPooledSize(n: number): boolean {
  return n >= SLAB_MIN && n <= SLAB_TOP && (n & (n - 1)) === 0;
}

/** Sizes up to SLAB_TOP are powers of two, so that a slab given back fits the next request of its size. */
function slabSize(n: number): number {
  if (n > SLAB_TOP) return n;
  let size = SLAB_MIN;
  while (size < n) size *= 2;
  return size;
}

function newSlab(size: number, allocate: (n: number) => Uint8Array): Uint8Array {
  return (isPooledSize(size) ? freeSlabs.get(size)?.pop() : undefined) ?? allocate(size);
}

function giveBack(slab: Uint8Array): void {
  if (!isPooledSize(slab.length)) return;
  let free = freeSlabs.get(slab.length);
  if (!free) freeSlabs.set(slab.length, (free = []));
  if (free.length < freePerSize(slab.length)) free.push(slab);
}

/**
 * Writes a frame header without its mask key (RFC 6455 §5.2): `b0` (FIN, RSV, opcode), the MASK bit
 * and the payload length in 1, 3 or 9 bytes. Returns where the mask key (if any) or payload goes.
 */
export function writeFrameHeader(s: Uint8Array, at: number, b0: number, len: number, masked: boolean): number {
  s[at] = b0;
  const m = masked ? 0x80 : 0;
  if (len <= 125) {
    s[at + 1] = m | len;
    return at + 2;
  }
  if (len <= 0xffff) {
    s[at + 1] = m | 126;
    s[at + 2] = len >>> 8;
    s[at + 3] = len & 0xff;
    return at + 4;
  }
  s[at + 1] = m | 127;
  s[at + 2] = 0;
  s[at + 3] = 0;
  const hi = Math.floor(len / 0x100000000);
  s[at + 4] = (hi >>> 8) & 0xff;
  s[at + 5] = hi & 0xff;
  s[at + 6] = (len >>> 24) & 0xff;
  s[at + 7] = (len >>> 16) & 0xff;
  s[at + 8] = (len >>> 8) & 0xff;
  s[at + 9] = len & 0xff;
  return at + 10;
}

/** What an outbox writes with: the text codec, and memory for slabs and large masked payloads (only bytes written are handed out, so it need not be zeroed). */
export interface OutboxIo {
  readonly text: TextCodec;
  readonly allocate: (n: number) => Uint8Array;
}

/** Bits of Outbox#bits: the role masks, the transport joins chunks; bits 8-12: log2 of the next slab's size. Bits 4-7 are the subclass's. */
const B_MASKING = 1, B_COALESCE = 2, B_NEXT_SHIFT = 8, B_NEXT_MASK = 31 << B_NEXT_SHIFT;
const LOG2_SLAB_MIN = Math.log2(SLAB_MIN);

/** A client's masked copies of large payloads (server connections never make one). */
interface MaskedBodies {
  /** The masked body made for this batch, the one take() last handed out, and one free for reuse. */
  body: Uint8Array | undefined;
  spent: Uint8Array | undefined;
  spare: Uint8Array | undefined;
}

/**
 * Fields are few on purpose (issue 19): with its subclass Outbound, at most 12, the most JSC keeps in
 * a 112 B object (20 took 224 B in every idle connection). Settings come in one shared object, the
 * role, the transport's kind and the next slab's size are bits, a client's masked bodies are an
 * object of their own, made by the first large masked send.
 */
export class Outbox<I extends OutboxIo = OutboxIo> {
  #slab: Uint8Array = EMPTY;
  /** Start of the bytes not yet taken, and end of the bytes written. */
  #from = 0;
  #pos = 0;
  /** Chunks sealed since the last take(): made when the first is. */
  #chunks: Uint8Array[] | undefined;
  #queued = 0;
  /** The full slab take() last let go of, kept for recycle(). */
  #spent: Uint8Array | undefined;
  /** Client: masked bodies of large payloads (made with the first). */
  #bodies: MaskedBodies | undefined;
  /** Where the bytes takeRange() last handed out lie (cleared by recycle()). */
  rangeBytes: Uint8Array = EMPTY;
  rangeOffset = 0;
  /**
   * B_MASKING, B_COALESCE, and the size recycle() gave back (log2): the next slab is taken at that
   * size (a busy connection keeps its grown size). Bits 4-7 belong to the subclass.
   */
  protected bits: number;
  protected readonly io: I;

  constructor(masking: boolean, io: I) {
    this.io = io;
    this.bits = (masking ? B_MASKING : 0) | (LOG2_SLAB_MIN << B_NEXT_SHIFT);
  }

  /** Sets the size of the next slab (one of the pooled sizes). */
  #setNextSlab(size: number): void {
    const log2 = isPooledSize(size) ? Math.log2(size) : LOG2_SLAB_MIN;
    this.bits = (this.bits & ~B_NEXT_MASK) | (log2 << B_NEXT_SHIFT);
  }

  /**
   * For transports that take one buffer per write (they would join the chunks anyway): payloads up
   * to a full slab are copied in once, instead of queued apart and copied again by the join.
   */
  coalesce(): void {
    this.bits |= B_COALESCE;
  }

  /** Bytes waiting to be taken. */
  get pending(): number {
    return this.#queued + (this.#pos - this.#from);
  }

  /** Everything written so far, in order, as few chunks as possible. The caller owns them. */
  take(): Uint8Array[] {
    this.#sealSlab();
    this.#letGoFullSlab();
    const out = this.#chunks ?? [];
    if (out.length > 0) this.#batchSent();
    this.#chunks = undefined;
    this.#queued = 0;
    return out;
  }

  /** Nothing can be written into the part handed out: a slab with no room left is let go. */
  #letGoFullSlab(): void {
    if (this.#pos === this.#slab.length) {
      this.#spent = this.#slab;
      this.#slab = EMPTY;
      this.#from = this.#pos = 0;
    }
  }

  /** A batch went out: a spare body it did not use is let go (only a connection that keeps sending large messages keeps one). */
  #batchSent(): void {
    const b = this.#bodies;
    if (!b) return;
    b.spent = b.body;
    if (!b.body) b.spare = undefined;
    b.body = undefined;
  }

  /**
   * take() for transports that write (buffer, offset, length): when everything written is one run of
   * the slab, hands it out as rangeBytes[rangeOffset, +n) and returns n (0: nothing to write), with
   * no subarray made; -1 when chunks are queued (call take()).
   */
  takeRange(): number {
    if (this.#chunks) return -1;
    const n = this.#pos - this.#from;
    if (n === 0) return 0;
    this.rangeBytes = this.#slab;
    this.rangeOffset = this.#from;
    this.#from = this.#pos;
    this.#letGoFullSlab();
    this.#batchSent();
    this.#queued = 0;
    return n;
  }

  /**
   * The transport is done with every chunk take() returned (it copied what it could not send), so
   * the slab may be written over from the start, by this connection or any other: it goes back to
   * the shared free list, so a busy connection allocates no more slabs and an idle one holds none.
   */
  recycle(): void {
    this.rangeBytes = EMPTY;
    if (this.#pos === this.#from && !this.#chunks) {
      const slab = this.#slab !== EMPTY ? this.#slab : this.#spent;
      if (slab) {
        giveBack(slab);
        this.#setNextSlab(slab.length);
      }
      this.#slab = EMPTY;
      this.#from = this.#pos = 0;
    }
    this.#spent = undefined;
    const b = this.#bodies;
    if (b) {
      if (b.spent && !this.#chunks) b.spare = b.spent;
      b.spent = undefined;
    }
  }

  /** Writes raw bytes (the handshake head). */
  writeRaw(bytes: Uint8Array): void {
    this.#sealSlab();
    (this.#chunks ??= []).push(bytes);
    this.#queued += bytes.length;
  }

  /**
   * Queues a whole frame built elsewhere (a published message, shared by many connections): small
   * ones are copied into the slab beside this connection's other output, large ones queued as they
   * are. The bytes are never written to.
   */
  writeFrameBytes(frame: Uint8Array): void {
    // Copied only when small, even where the transport joins chunks: a copy of a shared frame per
    // subscriber is what encoding once saves (4 KiB publishes to 10 000 subscribers filled a 64 KiB
    // slab per subscriber per turn, and the heap with them).
    if (frame.length <= INLINE_MAX_SERVER) {
      this.#reserve(frame.length);
      this.#slab.set(frame, this.#pos);
      this.#pos += frame.length;
      return;
    }
    this.writeRaw(frame);
  }

  /** Encodes one frame. A string payload is sent as its UTF-8 bytes. */
  writeFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array | string): void {
    const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    if (typeof payload === "string") {
      if ((this.bits & B_MASKING) !== 0 && payload.length <= FUSED_ASCII_MAX && this.#writeAsciiMasked(b0, payload)) return;
      if (payload.length <= INLINE_STRING_MAX) return this.#writeStringInline(b0, payload);
      payload = encoder.encode(payload);
      return this.#writeLarge(b0, payload, true);
    }
    const b = this.bits;
    if (payload.length <= (b & B_COALESCE ? SLAB_MAX : b & B_MASKING ? INLINE_MAX_CLIENT : INLINE_MAX_SERVER)) return this.#writeBytesInline(b0, payload);
    this.#writeLarge(b0, payload, false);
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#slab.length) return;
    this.#sealSlab();
    const size = this.#slab === EMPTY ? 1 << ((this.bits & B_NEXT_MASK) >> B_NEXT_SHIFT) : Math.min(SLAB_MAX, this.#slab.length * 2);
    this.bits = (this.bits & ~B_NEXT_MASK) | (LOG2_SLAB_MIN << B_NEXT_SHIFT);
    // Unzeroed where the adapter allows it: only the bytes written are ever handed out.
    this.#slab = newSlab(slabSize(Math.max(n, size)), this.io.allocate);
    this.#from = this.#pos = 0;
  }

  /** Moves the written part of the slab to the chunk list; the slab is never rewritten there. */
  #sealSlab(): void {
    if (this.#pos > this.#from) {
      (this.#chunks ??= []).push(this.#slab.subarray(this.#from, this.#pos));
      this.#queued += this.#pos - this.#from;
      this.#from = this.#pos;
    }
  }

  #writeHeader(at: number, b0: number, len: number): number {
    at = writeFrameHeader(this.#slab, at, b0, len, (this.bits & B_MASKING) !== 0);
    if ((this.bits & B_MASKING) !== 0) {
      writeMaskKey(this.#slab, at);
      at += 4;
    }
    return at;
  }

  #maskPayload(keyAt: number, start: number, len: number): void {
    // In place: maskInto reads each byte before writing it, and its small-input loop is the fastest.
    if (len > 0) maskInto(this.#slab.subarray(start, start + len), this.#slab.subarray(keyAt, keyAt + 4), this.#slab, start);
  }

  #writeBytesInline(b0: number, payload: Uint8Array): void {
    this.#reserve(MAX_HEADER + payload.length);
    const start = this.#writeHeader(this.#pos, b0, payload.length);
    if ((this.bits & B_MASKING) !== 0) maskInto(payload, this.#slab.subarray(start - 4, start), this.#slab, start);
    else this.#slab.set(payload, start);
    this.#pos = start + payload.length;
  }

  /** A client's short text frame if `text` is ASCII, each byte masked as it is written; false otherwise (nothing written). */
  #writeAsciiMasked(b0: number, text: string): boolean {
    const n = text.length;
    this.#reserve(6 + n);
    const s = this.#slab;
    const at = this.#pos;
    writeMaskKey(s, at + 2);
    const k0 = s[at + 2]!, k1 = s[at + 3]!, k2 = s[at + 4]!, k3 = s[at + 5]!;
    const p = at + 6;
    let i = 0;
    let c0: number, c1: number, c2: number, c3: number;
    for (; i + 4 <= n; i += 4) {
      c0 = text.charCodeAt(i);
      c1 = text.charCodeAt(i + 1);
      c2 = text.charCodeAt(i + 2);
      c3 = text.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) >= 0x80) return false;
      s[p + i] = c0 ^ k0;
      s[p + i + 1] = c1 ^ k1;
      s[p + i + 2] = c2 ^ k2;
      s[p + i + 3] = c3 ^ k3;
    }
    for (; i < n; i++) {
      c0 = text.charCodeAt(i);
      if (c0 >= 0x80) return false;
      s[p + i] = c0 ^ s[at + 2 + (i & 3)]!;
    }
    s[at] = b0;
    s[at + 1] = 0x80 | n;
    this.#pos = p + n;
    return true;
  }

  #writeStringInline(b0: number, text: string): void {
    // Short strings fit a 2-byte length (3 bytes per UTF-16 unit at most); others are measured.
    const len = text.length <= 41 ? -1 : this.io.text.byteLength(text);
    this.#reserve(MAX_HEADER + (len < 0 ? 123 : len));
    const headerLen = (len < 0 ? 2 : len <= 125 ? 2 : len <= 0xffff ? 4 : 10) + ((this.bits & B_MASKING) !== 0 ? 4 : 0);
    const start = this.#pos + headerLen;
    const written = this.io.text.encodeInto(text, this.#slab, start);
    this.#writeHeader(this.#pos, b0, written);
    if ((this.bits & B_MASKING) !== 0) this.#maskPayload(start - 4, start, written);
    this.#pos = start + written;
  }

  /** Memory for a masked body of `n` bytes: the spare one if it fits, else new. */
  #bodyFor(n: number): Uint8Array {
    const b = (this.#bodies ??= { body: undefined, spent: undefined, spare: undefined });
    const spare = b.spare;
    let body: Uint8Array;
    if (spare && spare.length >= n) {
      b.spare = undefined;
      body = spare;
    } else {
      body = this.io.allocate(n);
    }
    if (n <= SPARE_BODY_MAX && (!b.body || b.body.length < body.length)) b.body = body;
    return body.length === n ? body : body.subarray(0, n);
  }

  #writeLarge(b0: number, payload: Uint8Array, owned: boolean): void {
    this.#reserve(MAX_HEADER);
    const start = this.#writeHeader(this.#pos, b0, payload.length);
    if ((this.bits & B_MASKING) !== 0) {
      // The caller's bytes stay untouched: mask a copy (unless we made the bytes ourselves).
      const key = this.#slab.subarray(start - 4, start);
      if (owned) {
        mask(payload, key);
      } else {
        const body = this.#bodyFor(payload.length);
        maskInto(payload, key, body, 0);
        payload = body;
      }
    }
    this.#pos = start;
    this.#sealSlab();
    (this.#chunks ??= []).push(payload);
    this.#queued += payload.length;
  }
}
