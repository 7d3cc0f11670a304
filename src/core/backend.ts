// The contract both cores fulfil: the WASM SIMD module and its pure-TS reference. Each owns one
// linear memory; callers lay their buffers out in it from `heapBase` and pass offsets.

export type BackendName = "wasm-simd" | "js";

export interface CoreBackend {
  readonly name: BackendName;
  /** First usable byte offset (16-byte aligned). */
  readonly heapBase: number;
  /** The current memory. Re-read after `ensureMemory`: growth replaces the underlying buffer. */
  bytes: Uint8Array;
  /** The same memory as i32 words (offset / 4). */
  words: Int32Array;
  /** Makes `bytes` at least `size` long, growing memory (and re-deriving the views) if needed. */
  ensureMemory(size: number): void;
  /** XORs [ptr, ptr+len) with the little-endian `key`, starting `keyOffset` bytes into the key. */
  maskInPlace(ptr: number, len: number, key: number, keyOffset: number): void;
  /**
   * Validates UTF-8 continuing from `state` (0 at a boundary). Returns the new state (>= 0), or
   * -1 - offset of the first invalid byte. With `masked`, unmasks each byte in place first.
   */
  utf8Validate(ptr: number, len: number, state: number, masked: boolean, key: number, keyOffset: number): number;
  /** Scans frames in [inPtr, inPtr+inLen); state block at `statePtr`, table at `tablePtr`. */
  scan(inPtr: number, inLen: number, tablePtr: number, tableCap: number, statePtr: number): void;
}

/** Reads a 4-byte masking key as the little-endian u32 the cores take. */
export function keyToU32(key: Uint8Array, offset = 0): number {
  return (key[offset]! | (key[offset + 1]! << 8) | (key[offset + 2]! << 16) | (key[offset + 3]! << 24)) >>> 0;
}
