// Received binary messages on Node: copies carved from shared slabs must be exact and never overlap.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { binaryAsBuffer } from "../src/adapters/node/buffers.js";

describe("binaryAsBuffer", () => {
  it("copies any range exactly, into Buffers that never share bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 60 }), fc.nat(100), (sizes, offset) => {
        const source = new Uint8Array(offset + 20_000).map((_, i) => (i * 31 + 7) & 0xff);
        const outs = sizes.map((n) => binaryAsBuffer(source, offset, offset + n, false));
        outs.forEach((b, i) => {
          expect(Buffer.isBuffer(b)).toBe(true);
          expect(b.length).toBe(sizes[i]);
          expect(Buffer.compare(b, source.subarray(offset, offset + sizes[i]!))).toBe(0);
          b.fill(i & 0xff); // writing one must not change another
        });
        outs.forEach((b, i) => expect(b.every((x) => x === (i & 0xff))).toBe(true));
      }),
      { numRuns: 50 },
    );
  });
  it("copies small ranges (the JS loop's sizes) exactly, at any offset", () => {
    const source = new Uint8Array(300).map((_, i) => (i * 31 + 7) & 0xff);
    for (let n = 0; n <= 40; n++) {
      for (const offset of [0, 1, 7, 200]) {
        const b = binaryAsBuffer(source, offset, offset + n, false);
        expect(Buffer.isBuffer(b)).toBe(true);
        expect(Buffer.compare(b, source.subarray(offset, offset + n))).toBe(0);
      }
    }
  });
  it("wraps bytes it already owns without copying", () => {
    const own = new Uint8Array(100);
    const b = binaryAsBuffer(own, 10, 20, true);
    expect(b.buffer).toBe(own.buffer);
    expect(b.byteOffset).toBe(10);
  });
});
