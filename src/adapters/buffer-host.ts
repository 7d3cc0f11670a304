// What the Node, Deno and Bun adapters inject into a Connection: Buffer's string ⇄ UTF-8
// conversions (faster than TextEncoder/TextDecoder there) and unzeroed allocation. Browsers and
// workers keep the portable defaults (no node:buffer). The clock comes from the driver.
import { Buffer } from "node:buffer";
import { shortAsciiFirst, type TextCodec } from "../core/text.js";

type Slicer = {
  utf8Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number, length: number): number;
};
/** One Buffer view per backing ArrayBuffer seen last (core memory, a slab): no view per call. */
let readBuffer: ArrayBufferLike | undefined;
let readView: Slicer | undefined;
let writeBuffer: ArrayBufferLike | undefined;
let writeView: Slicer | undefined;

/**
 * Buffer#utf8Write needs no subarray per call: 16 ns against 44 for encodeInto on Bun 1.4, 52
 * against 67 on Node 20 (2026-11-25, 16–128 ASCII characters). Short ASCII is built in JS up to
 * 8 bytes (utf8Slice costs ~50 ns whatever the length).
 */
export const bufferText: TextCodec = {
  decode: shortAsciiFirst(8, (bytes, start, end) => {
    if (bytes.buffer !== readBuffer) {
      readBuffer = bytes.buffer;
      readView = Buffer.from(bytes.buffer) as unknown as Slicer;
    }
    const o = bytes.byteOffset;
    return readView!.utf8Slice(o + start, o + end);
  }),
  encodeInto(text, target, at) {
    if (target.buffer !== writeBuffer) {
      writeBuffer = target.buffer;
      writeView = Buffer.from(target.buffer) as unknown as Slicer;
    }
    return writeView!.utf8Write(text, target.byteOffset + at, target.length - at);
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
