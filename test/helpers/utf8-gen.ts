// Generators of byte strings that sit near the UTF-8 validity boundary.
import fc from "fast-check";

const encoder = new TextEncoder();

/** Code points chosen to hit every encoding length and boundary. */
const codePoint = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: 0x800, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xffff })) },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff, 0xfeff) },
);

/** Byte sequences that are invalid in a specific way. */
const badBits = fc.constantFrom(
  [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80], [0xff], [0xfe], [0x80], [0xbf],
  [0xc2], [0xe1, 0x80], [0xf1, 0x80, 0x80], [0xc2, 0x41], [0xe1, 0x41, 0x80],
);

/** Mostly valid UTF-8 of up to `maxChars` code points, with occasional corruption. */
export function nearUtf8(maxChars = 200): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.array(codePoint, { maxLength: maxChars }), fc.array(fc.tuple(fc.nat(), badBits), { maxLength: 2 }), fc.boolean())
    .map(([cps, bads, corrupt]) => {
      let bytes = Array.from(encoder.encode(String.fromCodePoint(...cps)));
      if (corrupt) {
        for (const [at, bad] of bads) {
          const i = at % (bytes.length + 1);
          bytes = [...bytes.slice(0, i), ...bad, ...bytes.slice(i)];
        }
      }
      return Uint8Array.from(bytes);
    });
}

/** Any bytes: half random, half near-valid. */
export function anyBytes(maxLength = 300): fc.Arbitrary<Uint8Array> {
  return fc.oneof(fc.uint8Array({ maxLength }), nearUtf8(maxLength / 2));
}

/** Sorted distinct cut positions in [0, n]. */
export function splits(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: n }), { maxLength: 8 }).map((cuts) => [...new Set(cuts)].sort((a, b) => a - b));
}

export function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}
