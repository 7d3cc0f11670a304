// Received binary messages as Node Buffers: wrapped when the bytes are ours already, else copied.
// Copies up to 8 KiB are carved from shared 64 KiB slabs, as Node's own Buffer pool does for up to
// 4 KiB: a 4 KiB echo otherwise spends ~7 % of its CPU allocating one ArrayBuffer per message
// (bench/e2e/profile.mjs). A message kept by the application keeps its slab alive, as a ws message
// keeps the 64 KiB socket read it was sliced from.
const SLAB_SIZE = 64 * 1024;
const POOLED_MAX = 8 * 1024;
/**
 * Up to this many bytes a JS loop copies faster than Buffer#copy, whose argument checks and native
 * call cost ~130 ns whatever the size (a 32-byte echo client spent ~8 % of its CPU in _copy and
 * _copyActual, bench/client/profile.mjs). Node 20, whole binaryAsBuffer call: 8 B 133 -> 57 ns,
 * 32 B 130 -> 94-120 ns; at 64 B the loop loses (140 ns).
 */
const LOOP_COPY_MAX = 32;

let slab: Buffer | undefined;
let slabUsed = 0;
/** A Buffer over the core's memory, to copy out of without a subarray per message. */
let sourceBuffer: ArrayBufferLike | undefined;
let sourceView: Buffer | undefined;

export function binaryAsBuffer(source: Uint8Array, start: number, end: number, owned: boolean): Buffer {
  if (owned) return Buffer.from(source.buffer, source.byteOffset + start, end - start);
  const n = end - start;
  let out: Buffer;
  if (n > POOLED_MAX) {
    out = Buffer.allocUnsafe(n);
  } else {
    if (!slab || slabUsed + n > SLAB_SIZE) {
      slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      slabUsed = 0;
    }
    out = slab!.subarray(slabUsed, slabUsed + n);
    slabUsed = (slabUsed + n + 7) & ~7; // keep the next message 8-byte aligned
  }
  if (n <= LOOP_COPY_MAX) {
    for (let i = 0, j = start; i < n; i++, j++) out[i] = source[j]!;
    return out;
  }
  if (source.buffer !== sourceBuffer) {
    sourceBuffer = source.buffer;
    sourceView = Buffer.from(source.buffer);
  }
  sourceView!.copy(out, 0, source.byteOffset + start, source.byteOffset + end);
  return out;
}
