// The batched frame scan: header forms, every rule and its close code, chunking, WASM == reference.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { FrameScanner, type FrameScannerOptions } from "../src/core/frame-scanner.js";
import { useBackend } from "../src/core/select.js";
import { ASCII_CHECK_MAX, F_ASCII, ScanError } from "../src/core/layout.js";
import { scanErrorToException } from "../src/protocol/errors.js";
import { concat, frame, KEY } from "./helpers/frames.js";
import { cutAt, splits } from "./helpers/utf8-gen.js";

interface Piece { info: number; data: number[]; frameLen: number }

function run(backend: "wasm-simd" | "js", chunks: Uint8Array[], options: Partial<FrameScannerOptions> = {}) {
  useBackend(backend);
  const scanner = new FrameScanner({ role: "server", maxFrameSize: 1 << 24, maxMessageSize: 1 << 24, ...options });
  const pieces: Piece[] = [];
  let error = ScanError.None;
  for (const c of chunks) {
    error = scanner.push(c, { onPiece: (info, mem, ptr, len, frameLen) => pieces.push({ info, data: Array.from(mem.subarray(ptr, ptr + len)), frameLen }) });
    if (error) break;
  }
  return { pieces, error };
}

/** Pieces merged per frame, so different chunkings compare equal. */
function frames(pieces: Piece[]) {
  const out: { opcode: number; fin: boolean; data: number[] }[] = [];
  for (const p of pieces) {
    if (p.info & 0x40) out.push({ opcode: p.info & 15, fin: (p.info & 0x10) !== 0, data: [] });
    out[out.length - 1]!.data.push(...p.data);
  }
  return out;
}

afterAll(() => void useBackend("wasm-simd"));

describe.each(["wasm-simd", "js"] as const)("FrameScanner on %s", (backend) => {
  it.each([0, 1, 125, 126, 127, 65535, 65536, 100_000])("reads a %i-byte payload in its minimal length form", (n) => {
    const payload = new Uint8Array(n).map((_, i) => i * 7);
    const { pieces, error } = run(backend, [frame({ opcode: 2, payload, key: KEY })]);
    expect(error).toBe(ScanError.None);
    expect(frames(pieces)).toEqual([{ opcode: 2, fin: true, data: Array.from(payload) }]);
  });

  it.each([7, 16, 64] as const)("accepts a non-minimal %i-bit length form", (form) => {
    const { pieces } = run(backend, [frame({ opcode: 2, payload: "abc", key: KEY, lengthForm: form })]);
    expect(frames(pieces)[0]!.data).toEqual([97, 98, 99]);
  });

  const violations: [string, Uint8Array[], ScanError, number, Partial<FrameScannerOptions>?][] = [
    ["RSV1 without extension", [frame({ opcode: 1, rsv: 4, key: KEY })], ScanError.ReservedBits, 1002],
    ["RSV2", [frame({ opcode: 1, rsv: 2, key: KEY })], ScanError.ReservedBits, 1002, { rsv1Allowed: true }],
    ["RSV3", [frame({ opcode: 2, rsv: 1, key: KEY })], ScanError.ReservedBits, 1002],
    ["RSV1 on a continuation", [frame({ opcode: 1, fin: false, rsv: 4, key: KEY }), frame({ opcode: 0, rsv: 4, key: KEY })], ScanError.ReservedBits, 1002, { rsv1Allowed: true }],
    ["RSV1 on a control frame", [frame({ opcode: 9, rsv: 4, key: KEY })], ScanError.ReservedBits, 1002, { rsv1Allowed: true }],
    ...[3, 4, 5, 6, 7].map((op): [string, Uint8Array[], ScanError, number] => [`reserved data opcode ${op}`, [frame({ opcode: op, key: KEY })], ScanError.ReservedOpcode, 1002]),
    ...[11, 12, 13, 14, 15].map((op): [string, Uint8Array[], ScanError, number] => [`reserved control opcode ${op}`, [frame({ opcode: op, key: KEY })], ScanError.ReservedOpcode, 1002]),
    ["fragmented ping", [frame({ opcode: 9, fin: false, key: KEY })], ScanError.ControlFragmented, 1002],
    ["126-byte ping", [frame({ opcode: 9, payload: new Uint8Array(126), key: KEY })], ScanError.ControlTooLong, 1002],
    ["continuation with nothing to continue", [frame({ opcode: 0, key: KEY })], ScanError.UnexpectedContinuation, 1002],
    ["text inside a fragmented message", [frame({ opcode: 1, fin: false, key: KEY }), frame({ opcode: 1, key: KEY })], ScanError.ExpectedContinuation, 1002],
    ["64-bit length with the high bit set", [frame({ opcode: 2, key: KEY, announce: 1n << 63n })], ScanError.LengthHighBit, 1002],
    ["unmasked client frame", [frame({ opcode: 1, payload: "x" })], ScanError.MaskRequired, 1002],
    ["masked server frame", [frame({ opcode: 1, payload: "x", key: KEY })], ScanError.MaskForbidden, 1002, { role: "client" }],
    ["2^62-byte frame", [frame({ opcode: 2, key: KEY, announce: 1n << 62n })], ScanError.FrameTooBig, 1009],
    ["frame over maxFrameSize", [frame({ opcode: 2, payload: new Uint8Array(101), key: KEY })], ScanError.FrameTooBig, 1009, { maxFrameSize: 100 }],
    ["message over maxMessageSize", [frame({ opcode: 2, fin: false, payload: new Uint8Array(60), key: KEY }), frame({ opcode: 0, payload: new Uint8Array(60), key: KEY })], ScanError.MessageTooBig, 1009, { maxMessageSize: 100 }],
    ["invalid UTF-8 in text", [frame({ opcode: 1, payload: Uint8Array.from([0x61, 0xff]), key: KEY })], ScanError.InvalidUtf8, 1007],
    ["text ending inside a code point", [frame({ opcode: 1, payload: Uint8Array.from([0x61, 0xe2, 0x82]), key: KEY })], ScanError.InvalidUtf8, 1007],
  ];

  it.each(violations)("rejects %s", (_name, chunks, kind, closeCode, options) => {
    const whole = run(backend, [concat(...chunks)], options);
    expect(whole.error).toBe(kind);
    expect(scanErrorToException(kind).closeCode).toBe(closeCode);
  });

  it("fails fast on invalid UTF-8: at the bad fragment, before the message ends", () => {
    const first = frame({ opcode: 1, fin: false, payload: "héllo", key: KEY });
    const bad = frame({ opcode: 0, fin: false, payload: Uint8Array.from([0xed, 0xa0, 0x80]), key: KEY });
    const { error, pieces } = run(backend, [first, bad]);
    expect(error).toBe(ScanError.InvalidUtf8);
    expect(frames(pieces)).toHaveLength(1);
  });

  it("gives the same frames for every split of the input", () => {
    const input = concat(
      frame({ opcode: 1, fin: false, payload: "fragmented ", key: KEY }),
      frame({ opcode: 9, payload: "ping!", key: KEY }),
      frame({ opcode: 0, payload: "mes€age 𝄞", key: KEY }),
      frame({ opcode: 2, payload: new Uint8Array(300).fill(5), key: KEY }),
      frame({ opcode: 8, payload: Uint8Array.from([3, 232, 111, 107]), key: KEY }),
    );
    const expected = frames(run(backend, [input]).pieces);
    expect(expected).toHaveLength(5);
    for (let i = 0; i <= input.length; i++) {
      expect(frames(run(backend, [input.subarray(0, i), input.subarray(i)]).pieces)).toEqual(expected);
    }
    const oneByOne = Array.from(input, (b) => Uint8Array.of(b));
    expect(frames(run(backend, oneByOne).pieces)).toEqual(expected);
  });

  it("marks a whole short text message that is all ASCII (F_ASCII), and nothing else", () => {
    const flags = (chunks: Uint8Array[], options: Partial<FrameScannerOptions> = {}) => {
      const { pieces, error } = run(backend, chunks, options);
      expect(error).toBe(ScanError.None);
      return pieces.map((p) => (p.info & F_ASCII) !== 0);
    };
    const a = (n: number) => "a".repeat(n);
    expect(flags([frame({ opcode: 1, payload: "hello", key: KEY })])).toEqual([true]);
    expect(flags([frame({ opcode: 1, payload: "", key: KEY })])).toEqual([true]);
    expect(flags([frame({ opcode: 1, payload: a(ASCII_CHECK_MAX), key: KEY })])).toEqual([true]);
    expect(flags([frame({ opcode: 1, payload: a(ASCII_CHECK_MAX + 1), key: KEY })])).toEqual([false]);
    // Every position of the one non-ASCII byte, in the SIMD blocks and the tails.
    for (let at = 0; at < 40; at++) expect(flags([frame({ opcode: 1, payload: a(at) + "é" + a(39 - at), key: KEY })])).toEqual([false]);
    expect(flags([frame({ opcode: 2, payload: "hello", key: KEY })])).toEqual([false]);
    // Fragments, a frame split across reads, a compressed message: not whole in one entry, or not plain text.
    expect(flags([frame({ opcode: 1, fin: false, payload: "he", key: KEY }), frame({ opcode: 0, payload: "llo", key: KEY })])).toEqual([false, false]);
    const whole = frame({ opcode: 1, payload: "hello", key: KEY });
    expect(flags([whole.subarray(0, 8), whole.subarray(8)])).toEqual([false, false]);
    expect(flags([frame({ opcode: 1, rsv: 4, payload: "hello", key: KEY })], { rsv1Allowed: true })).toEqual([false]);
    // Unvalidated text (skipUtf8) is flagged by its bytes alike.
    expect(flags([frame({ opcode: 1, payload: "hello", key: KEY })], { skipUtf8: true })).toEqual([true]);
  });

  it("scans a chunk holding thousands of frames (more than one table's worth)", () => {
    const one = frame({ opcode: 1, payload: "x", key: KEY });
    const input = concat(...Array.from({ length: 5000 }, () => one));
    const { pieces, error } = run(backend, [input]);
    expect(error).toBe(ScanError.None);
    expect(pieces).toHaveLength(5000);
  });
});

describe("WASM scanner equals the reference scanner", () => {
  const spec = fc.record({
    opcode: fc.constantFrom(0, 1, 2, 8, 9, 10, 3, 11),
    fin: fc.boolean(),
    rsv: fc.constantFrom(0, 0, 0, 4, 2),
    payload: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 40 }).map((s) => new TextEncoder().encode(s)), fc.uint8Array({ minLength: 120, maxLength: 400 })),
    masked: fc.boolean().map((b) => b || Math.random() < 0.9),
  });
  const input = fc.array(spec, { maxLength: 12 }).map((specs) => concat(...specs.map((s) => frame({ opcode: s.opcode, fin: s.fin, rsv: s.rsv, payload: s.payload, key: s.masked ? KEY : undefined }))));

  it("on random frame sequences with random chunking, both roles, with and without RSV1", () => {
    fc.assert(
      fc.property(input.chain((b) => fc.tuple(fc.constant(b), splits(b.length))), fc.constantFrom<"server" | "client">("server", "client"), fc.boolean(), ([bytes, cuts], role, rsv1Allowed) => {
        const chunks = cutAt(bytes, cuts).map((c) => c.slice());
        const opts = { role, rsv1Allowed, maxFrameSize: 300, maxMessageSize: 600 };
        const w = run("wasm-simd", chunks.map((c) => c.slice()), opts);
        const j = run("js", chunks.map((c) => c.slice()), opts);
        expect(w.error).toBe(j.error);
        expect(frames(w.pieces)).toEqual(frames(j.pieces));
        expect(w.pieces.map((p) => p.info & F_ASCII)).toEqual(j.pieces.map((p) => p.info & F_ASCII));
        if (w.error === ScanError.None) expect(frames(run("js", [bytes.slice()], opts).pieces)).toEqual(frames(j.pieces));
      }),
      { numRuns: 1500 },
    );
  });

  it("on short text, masked or not, at every length and every place of a multi-byte or invalid sequence", () => {
    // Text of up to ASCII_CHECK_MAX bytes on a code point boundary is unmasked and checked for ASCII
    // in one walk (unmaskAscii), other text by the validator: both must agree with the reference,
    // alone and as the continuation of a sequence the previous fragment left open.
    const seqs = [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0x80]];
    for (const role of ["server", "client"] as const) {
      const key = role === "server" ? KEY : undefined;
      for (const n of [0, 1, 3, 4, 7, 8, 12, 15, 16, 17, 31, 32, 33, 64, 100, ASCII_CHECK_MAX - 1, ASCII_CHECK_MAX]) {
        const cases: Uint8Array[][] = [[frame({ opcode: 1, payload: new Uint8Array(n).fill(0x61), key })]];
        for (const seq of seqs) {
          for (const at of new Set([0, n >> 1, n])) {
            const p = new Uint8Array(n + seq.length).fill(0x61);
            p.set(seq, at);
            cases.push([frame({ opcode: 1, payload: p, key })]);
            // The same bytes cut after the sequence's first byte: the continuation starts mid-sequence.
            const cut = at + 1;
            cases.push([frame({ opcode: 1, fin: false, payload: p.subarray(0, cut), key }), frame({ opcode: 0, payload: p.subarray(cut), key })]);
          }
        }
        for (const c of cases) {
          const w = run("wasm-simd", c.map((x) => x.slice()), { role });
          const j = run("js", c.map((x) => x.slice()), { role });
          expect(w.error).toBe(j.error);
          expect(w.pieces).toEqual(j.pieces);
        }
      }
    }
  });

  it("never throws or hangs on random garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), splits(2000), (bytes, cuts) => {
        const chunks = cutAt(bytes, cuts.filter((c) => c <= bytes.length));
        const w = run("wasm-simd", chunks.map((c) => c.slice()));
        const j = run("js", chunks.map((c) => c.slice()));
        expect(w.error).toBe(j.error);
        expect(frames(w.pieces)).toEqual(frames(j.pieces));
      }),
      { numRuns: 1000 },
    );
  });
});
