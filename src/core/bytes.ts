// Joining byte chunks: one place for the copy every assembler ends with.

/** The chunks as one array; a single chunk is returned as it is (no copy). */
export function concatBytes(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  return copyBytes(chunks, total);
}

/** The chunks copied into one new array, even a single chunk (its memory may be reused). */
export function copyBytes(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
