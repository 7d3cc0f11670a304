// The WASM kernels against the pure-TS reference (the oracle) and against Node's own validator.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isUtf8 } from "node:buffer";
import { JsBackend } from "../src/core/js-backend.js";
import { loadWasmBackendSync } from "../src/core/wasm-backend.js";
import type { CoreBackend } from "../src/core/backend.js";
import { anyBytes, cutAt, nearUtf8, splits } from "./helpers/utf8-gen.js";

const wasm = loadWasmBackendSync();
const ref = new JsBackend();
const BASE = 1024;

function place(b: CoreBackend, bytes: Uint8Array, at: number): void {
  b.ensureMemory(at + bytes.length + 64);
  b.bytes.set(bytes, at);
}

function validateWith(b: CoreBackend, bytes: Uint8Array, align: number, pieces: Uint8Array[]) {
  let state = 0;
  let seen = 0;
  for (const piece of pieces) {
    place(b, piece, BASE + align);
    const r = b.utf8Validate(BASE + align, piece.length, state, false, 0, 0);
    if (r < 0) return { error: seen + (-1 - r) };
    state = r;
    seen += piece.length;
  }
  return { state };
}

describe("mask", () => {
  it("WASM equals the reference at any size, alignment and key offset", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 3 }),
        (data, align, key, keyOffset) => {
          place(wasm, data, BASE + align);
          place(ref, data, BASE + align);
          wasm.maskInPlace(BASE + align, data.length, key, keyOffset);
          ref.maskInPlace(BASE + align, data.length, key, keyOffset);
          expect(wasm.bytes.subarray(BASE + align, BASE + align + data.length)).toEqual(ref.bytes.subarray(BASE + align, BASE + align + data.length));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("WASM equals the reference on large buffers up to 1 MiB", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffffffff }), (n, align, key) => {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = (i * 31 + 7) & 0xff;
        place(wasm, data, BASE + align);
        place(ref, data, BASE + align);
        wasm.maskInPlace(BASE + align, n, key, 1);
        ref.maskInPlace(BASE + align, n, key, 1);
        expect(Buffer.compare(wasm.bytes.subarray(BASE + align, BASE + align + n), ref.bytes.subarray(BASE + align, BASE + align + n))).toBe(0);
      }),
      { numRuns: 12 },
    );
  });

  it("continues the key across a split payload", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (data, cut, key) => {
        const c = data.length ? cut % data.length : 0;
        place(wasm, data, BASE);
        place(ref, data, BASE);
        wasm.maskInPlace(BASE, c, key, 0);
        wasm.maskInPlace(BASE + c, data.length - c, key, c);
        ref.maskInPlace(BASE, data.length, key, 0);
        expect(wasm.bytes.subarray(BASE, BASE + data.length)).toEqual(ref.bytes.subarray(BASE, BASE + data.length));
      }),
      { numRuns: 300 },
    );
  });
});

describe("utf8Validate", () => {
  it("WASM equals the reference, and both equal Node's isUtf8, on random and near-valid input", () => {
    fc.assert(
      fc.property(anyBytes(600), fc.integer({ min: 0, max: 15 }), (bytes, align) => {
        const w = validateWith(wasm, bytes, align, [bytes]);
        const r = validateWith(ref, bytes, align, [bytes]);
        expect(w).toEqual(r);
        expect(w.state === 0).toBe(isUtf8(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the same answer however the input is split", () => {
    fc.assert(
      fc.property(nearUtf8(300).chain((b) => fc.tuple(fc.constant(b), splits(b.length))), ([bytes, cuts]) => {
        const whole = validateWith(ref, bytes, 0, [bytes]);
        expect(validateWith(wasm, bytes, 0, cutAt(bytes, cuts))).toEqual(whole);
        expect(validateWith(ref, bytes, 3, cutAt(bytes, cuts))).toEqual(whole);
      }),
      { numRuns: 2000 },
    );
  });

  it("unmasks and validates in one walk, like unmask then validate", () => {
    fc.assert(
      fc.property(nearUtf8(300), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 3 }), (plain, key, keyOffset) => {
        const masked = plain.slice();
        for (let i = 0; i < masked.length; i++) masked[i]! ^= (key >>> (((keyOffset + i) & 3) * 8)) & 0xff;
        place(wasm, masked, BASE);
        const r = wasm.utf8Validate(BASE, masked.length, 0, true, key, keyOffset);
        expect(r).toEqual(validateWith(ref, plain, 0, [plain]).state ?? r);
        if (r >= 0) expect(wasm.bytes.subarray(BASE, BASE + plain.length)).toEqual(plain);
        else expect(-1 - r).toBe(validateWith(ref, plain, 0, [plain]).error);
      }),
      { numRuns: 2000 },
    );
  });

  it("is right on large texts with one error planted anywhere", () => {
    const text = new TextEncoder().encode("héllo wörld — ✓ 𝄞 ".repeat(30000));
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.constantFrom(0xff, 0x80, 0xc0), (at, bad) => {
        const bytes = text.slice();
        bytes[at] = bad;
        expect(validateWith(wasm, bytes, 0, [bytes])).toEqual(validateWith(ref, bytes, 0, [bytes]));
      }),
      { numRuns: 30 },
    );
    expect(validateWith(wasm, text, 0, [text])).toEqual({ state: 0 });
  });
});
