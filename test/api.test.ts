// The public low-level API: mask/unmask, isValidUtf8, Utf8Validator, backend selection.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { isUtf8 } from "node:buffer";
import { mask, unmask, isValidUtf8, Utf8Validator, backendInfo, useBackend, init } from "../src/index.js";
import { wasmBytes } from "../src/core/wasm-backend.js";
import * as L from "../src/core/layout.js";
import { cutAt, nearUtf8, splits } from "./helpers/utf8-gen.js";

afterAll(() => void useBackend("wasm-simd"));

/** The classic UTF-8 stress vectors (after Markus Kuhn's test file), as [bytes, valid]. */
const STRESS: [number[], boolean][] = [
  [[0x7f], true], [[0xc2, 0x80], true], [[0xdf, 0xbf], true], [[0xe0, 0xa0, 0x80], true], [[0xef, 0xbf, 0xbf], true],
  [[0xf0, 0x90, 0x80, 0x80], true], [[0xf4, 0x8f, 0xbf, 0xbf], true], [[0xef, 0xbb, 0xbf], true],
  [[0xf4, 0x90, 0x80, 0x80], false], // > U+10FFFF
  [[0xc0, 0x80], false], [[0xc1, 0xbf], false], [[0xe0, 0x9f, 0xbf], false], [[0xf0, 0x8f, 0xbf, 0xbf], false], // overlongs
  [[0xe0, 0x80, 0xaf], false], [[0xf0, 0x80, 0x80, 0xaf], false], [[0xf8, 0x80, 0x80, 0x80, 0xaf], false],
  [[0xed, 0xa0, 0x80], false], [[0xed, 0xbf, 0xbf], false], [[0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], false], // surrogates
  [[0xed, 0x9f, 0xbf], true], [[0xee, 0x80, 0x80], true],
  [[0xf8, 0x88, 0x80, 0x80, 0x80], false], [[0xfc, 0x84, 0x80, 0x80, 0x80, 0x80], false], // 5/6-byte forms
  [[0x80], false], [[0xbf], false], [[0x80, 0xbf, 0x80], false], [[0xfe], false], [[0xff], false], // stray bytes
  [[0xc0], false], [[0xe0, 0x80], false], [[0xf0, 0x80, 0x80], false], [[0xdf], false], [[0xef, 0xbf], false], // truncations
  [[0xc2, 0x41], false], [[0xe2, 0x28, 0xa1], false],
];

describe.each(["wasm-simd", "js"] as const)("public API on the %s core", (backend) => {
  it("reports the active backend", () => {
    useBackend(backend);
    expect(backendInfo().name).toBe(backend);
  });

  it.each(STRESS.map(([b, v]) => [b.map((x) => x.toString(16)).join(" "), b, v] as const))("stress vector %s", (_n, bytes, valid) => {
    useBackend(backend);
    // Alone, padded past the JS small-input path, and after 100 ASCII bytes (the SIMD path).
    for (const pad of [0, 60, 100]) {
      const input = Uint8Array.from([...new Array(pad).fill(0x61), ...bytes]);
      expect(isValidUtf8(input)).toBe(valid);
      expect(isUtf8(input)).toBe(valid);
    }
  });

  it("truncating a valid 4-byte text at every position is detected", () => {
    useBackend(backend);
    const text = new TextEncoder().encode("x".repeat(70) + "𝄞€é");
    for (let i = 1; i <= text.length; i++) expect(isValidUtf8(text.subarray(0, i))).toBe(isUtf8(text.subarray(0, i)));
  });

  it("isValidUtf8 agrees with Node's isUtf8 on random and near-valid bytes", () => {
    useBackend(backend);
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 500 }), nearUtf8(300)), (b) => {
      expect(isValidUtf8(b)).toBe(isUtf8(b));
    }), { numRuns: 2000 });
  });

  it("Utf8Validator finds the first bad byte however the stream is split", () => {
    useBackend(backend);
    fc.assert(
      fc.property(nearUtf8(200).chain((b) => fc.tuple(fc.constant(b), splits(b.length))), ([bytes, cuts]) => {
        const v = new Utf8Validator();
        let ok = true;
        for (const piece of cutAt(bytes, cuts)) ok = v.push(piece) && ok;
        expect(ok && v.complete).toBe(isUtf8(bytes));
        if (!ok) {
          // The prefix before the reported byte is a valid start; including it is not.
          const pre = new Utf8Validator();
          expect(pre.push(bytes.subarray(0, v.errorOffset))).toBe(true);
          expect(new Utf8Validator().push(bytes.subarray(0, v.errorOffset + 1))).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("mask then unmask restores the data at any size and key offset; masks like ws does", () => {
    useBackend(backend);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (data, key, off) => {
        const copy = data.slice();
        mask(copy, key, off);
        for (let i = 0; i < data.length; i++) expect(copy[i]).toBe(data[i]! ^ key[(i + off) & 3]!);
        unmask(copy, key, off);
        expect(copy).toEqual(data);
      }),
      { numRuns: 300 },
    );
  });

  it("masks buffers over a core slice (1 MiB)", () => {
    useBackend(backend);
    const data = new Uint8Array(1 << 20).map((_, i) => i);
    const key = Uint8Array.of(1, 2, 3, 4);
    const m = mask(data.slice(), key);
    for (let i = 0; i < data.length; i += 4099) expect(m[i]).toBe(data[i]! ^ key[i & 3]!);
  });

  it("rejects a key that is not 4 bytes", () => {
    expect(() => mask(new Uint8Array(8), new Uint8Array(3))).toThrow(TypeError);
  });
});

describe("core selection", () => {
  it("init() resolves to the backend in use", async () => {
    useBackend("wasm-simd");
    expect(await init()).toBe("wasm-simd");
  });
  it("says why when the JS core is forced", () => {
    useBackend("js");
    expect(backendInfo()).toEqual({ name: "js", reason: "forced by useBackend('js')" });
    useBackend("wasm-simd");
  });
  it("the WASM module's layout constants match the TS mirror", () => {
    const m = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes() as BufferSource));
    const x = m.exports as Record<string, WebAssembly.Global>;
    expect(x.STATE_SIZE!.value).toBe(L.STATE_SIZE);
    expect(x.ENTRY_SIZE!.value).toBe(L.ENTRY_SIZE);
    expect(x.S_ERROR!.value).toBe(L.S_ERROR * 4);
    expect(x.F_START_PENDING!.value).toBe(L.F_START_PENDING);
    expect(x.ERR_INVALID_UTF8!.value).toBe(L.ScanError.InvalidUtf8);
    expect(x.ERR_MESSAGE_TOO_BIG!.value).toBe(L.ScanError.MessageTooBig);
  });
});
