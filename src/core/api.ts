// The public low-level API over the active core: masking and UTF-8 validation of any Uint8Array.
// Inputs are copied into core memory in slices, processed there, and (for masking) copied back.
import { core } from "./select.js";
import { keyToU32, type CoreBackend } from "./backend.js";
import { arenaOf, SLICE } from "./arena.js";
import { utf8Step } from "./js-backend.js";

/**
 * Below these sizes a plain JS loop beats copying into core memory and calling it. Measured with
 * `npm run bench:crossover` (Node 20, this project's 2-core Xeon, 2026-11-25): masking 16 B takes
 * 60 ns in JS vs 105 ns through the core, 32 B 120 vs 95 ns; the UTF-8 DFA ties the core at 16 B
 * (64 vs 59 ns) and loses above.
 */
const SMALL_MASK = 24;
const SMALL_UTF8 = 16;
/**
 * maskInto's JS loop is fused (copy and XOR, 4 bytes a step), so it stays ahead of the core longer:
 * in `npm run bench -- --only send` (client role), 32-byte sends ran at 0.55× ws through the core
 * and 1.3× ws through this loop.
 */
const SMALL_MASK_INTO = 128;

function maskJs(data: Uint8Array, key: Uint8Array, keyOffset: number): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= key[(i + keyOffset) & 3]!;
}

/** XORs `data` in place with the 4-byte `key` (RFC 6455 §5.3), starting `keyOffset` bytes into it. */
export function mask(data: Uint8Array, key: Uint8Array, keyOffset = 0): Uint8Array {
  if (key.length !== 4) throw new TypeError("mask: key must be 4 bytes");
  if (data.length < SMALL_MASK) {
    maskJs(data, key, keyOffset);
    return data;
  }
  const b = core();
  const { inputPtr, size } = arenaOf(b);
  const k = keyToU32(key);
  for (let off = 0; off < data.length; off += SLICE) {
    const n = Math.min(SLICE, data.length - off);
    b.ensureMemory(size);
    const part = data.subarray(off, off + n);
    b.bytes.set(part, inputPtr);
    b.maskInPlace(inputPtr, n, k, (keyOffset + off) & 3);
    part.set(b.bytes.subarray(inputPtr, inputPtr + n));
  }
  return data;
}

/**
 * Writes `data` masked with `key` into `out` at `outOffset`, leaving `data` untouched: one copy in
 * and one copy out of core memory (or a single fused JS loop for small inputs).
 */
export function maskInto(data: Uint8Array, key: Uint8Array, out: Uint8Array, outOffset: number): void {
  const n = data.length;
  if (n < SMALL_MASK_INTO) {
    const k0 = key[0]!, k1 = key[1]!, k2 = key[2]!, k3 = key[3]!;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      out[outOffset + i] = data[i]! ^ k0;
      out[outOffset + i + 1] = data[i + 1]! ^ k1;
      out[outOffset + i + 2] = data[i + 2]! ^ k2;
      out[outOffset + i + 3] = data[i + 3]! ^ k3;
    }
    for (; i < n; i++) out[outOffset + i] = data[i]! ^ key[i & 3]!;
    return;
  }
  const b = core();
  const { inputPtr, size } = arenaOf(b);
  const k = keyToU32(key);
  for (let off = 0; off < n; off += SLICE) {
    const len = Math.min(SLICE, n - off);
    b.ensureMemory(size);
    b.bytes.set(data.subarray(off, off + len), inputPtr);
    b.maskInPlace(inputPtr, len, k, off & 3);
    out.set(b.bytes.subarray(inputPtr, inputPtr + len), outOffset + off);
  }
}

/** Unmasking is the same XOR as masking. */
export const unmask = mask;

/** Runs `validate` over `bytes` slice by slice; returns the final state or -1 - error offset. */
function validateIn(b: CoreBackend, bytes: Uint8Array, state: number): number {
  const { inputPtr, size } = arenaOf(b);
  for (let off = 0; off < bytes.length; off += SLICE) {
    const n = Math.min(SLICE, bytes.length - off);
    b.ensureMemory(size);
    b.bytes.set(bytes.subarray(off, off + n), inputPtr);
    const r = b.utf8Validate(inputPtr, n, state, false, 0, 0);
    if (r < 0) return r - off;
    state = r;
  }
  return state;
}

/** The pure-JS DFA: safe to call while a frame table is being walked (it never touches core memory). */
export function validateJs(bytes: Uint8Array, state: number): number {
  for (let i = 0; i < bytes.length; i++) {
    state = utf8Step(state, bytes[i]!);
    if (state < 0) return -1 - i;
  }
  return state;
}

function validateAny(bytes: Uint8Array, state: number): number {
  return bytes.length < SMALL_UTF8 ? validateJs(bytes, state) : validateIn(core(), bytes, state);
}

/** Whether `bytes` is complete, well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return validateAny(bytes, 0) === 0;
}

/** Validates UTF-8 arriving in pieces; a code point may be split anywhere. */
export class Utf8Validator {
  private state = 0;
  private seen = 0;
  /** Offset (from the first byte ever pushed) of the first invalid byte, or -1. */
  errorOffset = -1;

  /** Feeds the next piece. False once the stream is invalid (and stays false). */
  push(bytes: Uint8Array): boolean {
    if (this.errorOffset >= 0) return false;
    const r = validateAny(bytes, this.state);
    if (r < 0) {
      this.errorOffset = this.seen + (-1 - r);
      return false;
    }
    this.state = r;
    this.seen += bytes.length;
    return true;
  }

  /** True when everything pushed so far is valid and no code point is left open. */
  get complete(): boolean {
    return this.errorOffset < 0 && this.state === 0;
  }

  /** Ends the stream: true if it was valid and complete. Resets for reuse. */
  end(): boolean {
    const ok = this.complete;
    this.reset();
    return ok;
  }

  reset(): void {
    this.state = 0;
    this.seen = 0;
    this.errorOffset = -1;
  }
}
