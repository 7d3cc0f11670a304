// What the Node, Deno and Bun adapters inject into a Connection: Buffer's string ⇄ UTF-8
// conversions (faster than TextEncoder/TextDecoder there) and unzeroed allocation. Browsers and
// workers keep the portable defaults (no node:buffer). The clock comes from the driver.
import { Buffer } from "node:buffer";
import { shortAsciiFirst, type TextCodec } from "../core/text.js";

type Slicer = {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number, length: number): number;
};
/**
 * A Buffer view over the memory of the typed array seen last, and its offset there: the core hands
 * the same array (its memory, a slab) call after call, so the array's identity is checked before
 * its `.buffer`, a getter that costs ~13 ns a call on Bun (JavaScriptCore). 32 B decode: 82 → 61 ns
 * on Bun 1.4.5, 70 → 49 ns on Node 20, 54 → 48 ns on Deno 2.9 (2026-12-02).
 */
class ViewCache {
  #bytes: Uint8Array | undefined;
  #buffer: ArrayBufferLike | undefined;
  view: Slicer | undefined;
  offset = 0;
  of(bytes: Uint8Array): Slicer {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.offset = bytes.byteOffset;
      // A typed array never changes its buffer: only a different array can need a different view.
      if (bytes.buffer !== this.#buffer) {
        this.#buffer = bytes.buffer;
        this.view = Buffer.from(bytes.buffer) as unknown as Slicer;
      }
    }
    return this.view!;
  }
}
const reads = new ViewCache();
const writes = new ViewCache();

/** Bytes as Latin-1 (each byte the character of its code): short ASCII texts, and one read's span of them (inbound.ts). */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  const view = reads.of(bytes);
  const o = reads.offset;
  return view.latin1Slice(o + start, o + end);
}

/**
 * Buffer#utf8Write needs no subarray per call: 16 ns against 44 for encodeInto on Bun 1.4, 52
 * against 67 on Node 20 (2026-11-25, 16–128 ASCII characters). Short ASCII is built in JS up to
 * 8 bytes (utf8Slice costs ~50 ns whatever the length).
 */
export const bufferText: TextCodec = {
  decode: shortAsciiFirst(8, (bytes, start, end) => {
    const view = reads.of(bytes);
    const o = reads.offset;
    return view.utf8Slice(o + start, o + end);
  }),
  // Bytes the scanner found all ASCII (F_ASCII): Latin-1 is the same string for less work. 32 B on
  // Bun 1.4.5 (JavaScriptCore): 48 -> 34 ns a call, ~13 ns less per message of a 32 B echo (2026-12-02).
  decodeAscii: shortAsciiFirst(8, latin1),
  decodeLatin1: latin1,
  encodeInto(text, target, at) {
    const view = writes.of(target);
    return view.utf8Write(text, writes.offset + at, target.length - at);
  },
  byteLength: (text) => Buffer.byteLength(text, "utf8"),
};

/** A buffer we fill completely before anyone sees it: no zeroing, and not from Buffer's shared pool. */
function allocate(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** Spread into ConnectionOptions by the Node, Deno and Bun adapters (options given by the caller win). */
export const bufferHost = { text: bufferText, allocate } as const;
