// Received binary messages as Node Buffers: wrapped when the bytes are ours already, else copied
// (small ones from Node's shared pool, which is cheaper than a fresh allocation).
export function binaryAsBuffer(source: Uint8Array, start: number, end: number, owned: boolean): Buffer {
  if (owned) return Buffer.from(source.buffer, source.byteOffset + start, end - start);
  const out = Buffer.allocUnsafe(end - start);
  out.set(source.subarray(start, end));
  return out;
}
