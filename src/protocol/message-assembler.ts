// Collects the payload pieces of a message that arrives in more than one piece. Small pieces are
// packed into shared blocks, so memory stays proportional to the message size however small the
// fragments (100 000 one-byte fragments cost ~100 KB, not 100 000 buffers).
import { concatBytes } from "../core/bytes.js";

const SMALL = 16 * 1024;
const BLOCK_MAX = 64 * 1024;
/** A single-frame message gets its exact buffer up front when it is at most this big... */
const PREALLOC_ALWAYS = 64 * 1024;
/** ...or at most this many times the bytes of it already received (bounds what a stalled peer costs). */
const PREALLOC_FACTOR = 32;

export class MessageAssembler {
  /** Makes a buffer that is filled completely before anyone sees it (the adapters may skip zeroing). */
  readonly #allocate: (n: number) => Uint8Array;
  #parts: Uint8Array[] | undefined;
  #total = 0;
  #block: Uint8Array | undefined;
  #blockLen = 0;
  /** The exact-size buffer of a single-frame message, filled directly from core memory. */
  #exact: Uint8Array | undefined;

  constructor(allocate: (n: number) => Uint8Array) {
    this.#allocate = allocate;
  }

  /**
   * Starts a message whose only frame announces `frameLen` bytes, `available` of which are here.
   * Preallocates the whole message when that is cheap or proportionate to what has arrived, so
   * its bytes are copied once, from core memory straight to their final place.
   */
  beginSingleFrame(frameLen: number, available: number): void {
    if (frameLen <= PREALLOC_ALWAYS || frameLen <= available * PREALLOC_FACTOR) this.#exact = this.#allocate(frameLen);
  }

  /** Copies bytes[ptr, ptr+len) in. */
  append(bytes: Uint8Array, ptr: number, len: number): void {
    if (this.#exact) {
      this.#exact.set(bytes.subarray(ptr, ptr + len), this.#total);
      this.#total += len;
      return;
    }
    this.#total += len;
    if (len >= SMALL) {
      this.#sealBlock();
      (this.#parts ??= []).push(bytes.slice(ptr, ptr + len));
      return;
    }
    if (!this.#block || this.#blockLen + len > this.#block.length) {
      if (this.#block && this.#block.length < BLOCK_MAX && this.#blockLen + len <= BLOCK_MAX) {
        const grown = new Uint8Array(Math.min(BLOCK_MAX, Math.max(this.#block.length * 2, this.#blockLen + len)));
        grown.set(this.#block.subarray(0, this.#blockLen));
        this.#block = grown;
      } else {
        this.#sealBlock();
        this.#block = new Uint8Array(Math.max(1024, len));
      }
    }
    this.#block.set(bytes.subarray(ptr, ptr + len), this.#blockLen);
    this.#blockLen += len;
  }

  #sealBlock(): void {
    if (this.#block && this.#blockLen > 0) (this.#parts ??= []).push(this.#block.subarray(0, this.#blockLen));
    this.#block = undefined;
    this.#blockLen = 0;
  }

  /** The whole message (owned by the caller), and a reset for the next one. */
  take(): Uint8Array {
    if (this.#exact) {
      const out = this.#exact;
      this.#exact = undefined;
      this.#total = 0;
      return out;
    }
    this.#sealBlock();
    const parts = this.#parts ?? [];
    const total = this.#total;
    this.#parts = undefined;
    this.#total = 0;
    return concatBytes(parts, total);
  }
}
