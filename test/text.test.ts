// The text codecs (the portable one and Buffer's) against TextEncoder/TextDecoder: any string, any
// offset, lone surrogates, byte lengths.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { webText, type TextCodec } from "../src/core/text.js";
import { bufferText } from "../src/adapters/buffer-host.js";

const te = new TextEncoder();
const td = new TextDecoder();
const strings = () => fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 }), fc.string({ maxLength: 300 }));

describe.each([
  ["webText", webText],
  ["bufferText", bufferText],
] as [string, TextCodec][])("text codec %s", (_name, text) => {
  it("encodeInto writes what TextEncoder writes, at any offset of a view into a larger buffer", () => {
    fc.assert(
      fc.property(strings(), fc.nat(64), fc.nat(16), (s, at, viewOffset) => {
        const want = te.encode(s);
        const backing = new Uint8Array(viewOffset + at + want.length + 8).fill(0xee);
        const target = backing.subarray(viewOffset);
        const n = text.encodeInto(s, target, at);
        expect(n).toBe(want.length);
        expect(Buffer.compare(target.subarray(at, at + n), want)).toBe(0);
        expect(target[at + n]).toBe(0xee); // nothing past the end
        expect(backing.subarray(0, viewOffset + at).every((b) => b === 0xee)).toBe(true); // nothing before
      }),
    );
  });
  it("decode reads what TextDecoder reads, short and long, from any range", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), fc.nat(8), (s, pad) => {
        const bytes = new Uint8Array(pad + te.encode(s).length + pad);
        bytes.set(te.encode(s), pad);
        expect(text.decode(bytes, pad, bytes.length - pad)).toBe(td.decode(bytes.subarray(pad, bytes.length - pad)));
      }),
    );
  });
  it("byteLength is TextEncoder's length", () => {
    fc.assert(fc.property(strings(), (s) => {
      expect(text.byteLength(s)).toBe(te.encode(s).length);
    }));
  });
});

describe("bufferText.decodeAscii (bytes the scanner found all ASCII, read as Latin-1)", () => {
  it("reads ASCII bytes as TextDecoder does, short and long, from any range", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 }), fc.nat(8), (s, pad) => {
        const bytes = new Uint8Array(pad + s.length + pad).fill(0xe9); // non-ASCII around the range
        bytes.set(te.encode(s), pad);
        expect(bufferText.decodeAscii!(bytes, pad, bytes.length - pad)).toBe(td.decode(bytes.subarray(pad, bytes.length - pad)));
      }),
    );
  });
});
