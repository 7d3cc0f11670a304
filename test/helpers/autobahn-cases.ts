// Autobahn|Testsuite groups 1-7 (framing, ping/pong, reserved bits, opcodes, fragmentation, UTF-8,
// close) rebuilt as frame bytes (test/helpers/frames.ts, not the library's encoder), for replaying
// against our server (masked frames, test/http2-autobahn.test.ts) or our client (unmasked frames,
// test/http2-autobahn-client.test.ts). A case is the steps to write and what the peer under test
// must send back, as the strings of test/helpers/h2-wire.ts: the echoed messages and pongs in
// order, then its close. The echoing peer answers the same way in either role, so one table serves
// both. Fail-fast UTF-8 cases wait for the peer's 1007 before sending the rest of the message.
import { frame, KEY, concat } from "./frames.js";
import { digest, type Step } from "./h2-wire.js";

export interface Case {
  id: string;
  steps: Step[];
  /** What the peer under test sends, its close included. */
  expect: string[];
}

export const enc = (s: string) => new TextEncoder().encode(s);
const hex = (h: string) => Uint8Array.from(h.split(/\s+/).filter(Boolean).map((x) => parseInt(x, 16)));
const whole = (...frames: Uint8Array[]): Step => ({ bytes: concat(...frames) });
const chopped = (chop: number, ...frames: Uint8Array[]): Step => ({ bytes: concat(...frames), chop });
const each = (...frames: Uint8Array[]): Step[] => frames.map((bytes) => ({ bytes }));
export const text = (p: Uint8Array | string) => digest("text", typeof p === "string" ? enc(p) : p);
const binary = (p: Uint8Array) => digest("binary", p);
export const pong = (p: Uint8Array | string) => digest("pong", typeof p === "string" ? enc(p) : p);
export const filled = (n: number, byte: number) => new Uint8Array(n).fill(byte);
export const OK = "close 1000";
export const PROTOCOL = "close 1002";
export const UTF8 = "close 1007";

// [name, bytes, valid]: Markus Kuhn's UTF-8 decoder stress test, as Autobahn 6.5–6.23 uses it.
export const sequences: [string, string, boolean][] = [
  ["kosme", "ce ba e1 bd b9 cf 83 ce bc ce b5", true],
  ["first 1-byte", "00", true], ["first 2-byte", "c2 80", true], ["first 3-byte", "e0 a0 80", true], ["first 4-byte", "f0 90 80 80", true],
  ["last 1-byte", "7f", true], ["last 2-byte", "df bf", true], ["last 3-byte", "ef bf bf", true], ["last 4-byte (U+10FFFF)", "f4 8f bf bf", true],
  ["U+D7FF", "ed 9f bf", true], ["U+E000", "ee 80 80", true], ["U+FFFD", "ef bf bd", true],
  ["noncharacter U+FFFE", "ef bf be", true], ["noncharacter U+1FFFE", "f0 9f bf be", true], ["noncharacter U+10FFFE", "f4 8f bf be", true],
  ["first 5-byte", "f8 88 80 80 80", false], ["first 6-byte", "fc 84 80 80 80 80", false], ["U+110000", "f4 90 80 80", false],
  ["last 4-byte form (U+1FFFFF)", "f7 bf bf bf", false], ["last 5-byte", "fb bf bf bf bf", false], ["last 6-byte", "fd bf bf bf bf bf", false],
  ["lone continuation 80", "80", false], ["lone continuation bf", "bf", false], ["2 continuations", "80 bf", false], ["3 continuations", "80 bf 80", false],
  ["all 64 continuations", Array.from({ length: 64 }, (_, i) => (0x80 + i).toString(16)).join(" "), false],
  ["lonely 2-byte starts", Array.from({ length: 32 }, (_, i) => `${(0xc0 + i).toString(16)} 20`).join(" "), false],
  ["lonely 3-byte starts", Array.from({ length: 16 }, (_, i) => `${(0xe0 + i).toString(16)} 20`).join(" "), false],
  ["lonely 4-byte starts", Array.from({ length: 8 }, (_, i) => `${(0xf0 + i).toString(16)} 20`).join(" "), false],
  ["2-byte missing last", "c0", false], ["3-byte missing last", "e0 80", false], ["4-byte missing last", "f0 80 80", false],
  ["U+07FF missing last", "df", false], ["U+FFFF missing last", "ef bf", false], ["U+1FFFFF missing last", "f7 bf bf", false],
  ["incomplete sequences concatenated", "c0 e0 80 f0 80 80 f8 80 80 80 fc 80 80 80 80 df ef bf f7 bf bf fb bf bf bf fd bf bf bf bf", false],
  ["byte fe", "fe", false], ["byte ff", "ff", false], ["fe fe ff ff", "fe fe ff ff", false],
  ["overlong / 2-byte", "c0 af", false], ["overlong / 3-byte", "e0 80 af", false], ["overlong / 4-byte", "f0 80 80 af", false],
  ["max overlong 2-byte", "c1 bf", false], ["max overlong 3-byte", "e0 9f bf", false], ["max overlong 4-byte", "f0 8f bf bf", false],
  ["overlong NUL 2-byte", "c0 80", false], ["overlong NUL 3-byte", "e0 80 80", false], ["overlong NUL 4-byte", "f0 80 80 80", false],
  ["surrogate U+D800", "ed a0 80", false], ["surrogate U+DB7F", "ed ad bf", false], ["surrogate U+DB80", "ed ae 80", false], ["surrogate U+DBFF", "ed af bf", false],
  ["surrogate U+DC00", "ed b0 80", false], ["surrogate U+DF80", "ed be 80", false], ["surrogate U+DFFF", "ed bf bf", false],
  ["surrogate pair D800 DC00", "ed a0 80 ed b0 80", false], ["surrogate pair DBFF DFFF", "ed af bf ed bf bf", false],
  ["valid then invalid", "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", false],
];

/** The cases, with frames masked (written by a client, to a server) or not (to a client); `closeFrame` builds a close frame the same way. */
export function autobahnCases(masked: boolean): { cases: Case[]; closeFrame: (code?: number, reason?: Uint8Array) => Uint8Array } {
  const f = (opcode: number, payload: Uint8Array | string = new Uint8Array(0), o: { fin?: boolean; rsv?: number } = {}) => frame({ opcode, payload, key: masked ? KEY : undefined, ...o });
  const closeFrame = (code?: number, reason: Uint8Array = new Uint8Array(0)) => {
    if (code === undefined) return f(8);
    const p = new Uint8Array(2 + reason.length);
    p[0] = code >> 8;
    p[1] = code & 0xff;
    p.set(reason, 2);
    return f(8, p);
  };
  const cases: Case[] = [];
  const add = (id: string, steps: Step[], expected: string[]) => cases.push({ id, steps, expect: expected });

  // 1: text and binary messages of the sizes around each length encoding, whole and in 997-byte chops.
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  sizes.forEach((n, i) => add(`1.1.${i + 1}`, [whole(f(1, filled(n, 0x2a)))], [text(filled(n, 0x2a)), OK]));
  add("1.1.8", [chopped(997, f(1, filled(65536, 0x2a)))], [text(filled(65536, 0x2a)), OK]);
  sizes.forEach((n, i) => add(`1.2.${i + 1}`, [whole(f(2, filled(n, 0xfe)))], [binary(filled(n, 0xfe)), OK]));
  add("1.2.8", [chopped(997, f(2, filled(65536, 0xfe)))], [binary(filled(65536, 0xfe)), OK]);

  // 2: pings and pongs.
  const ping125 = filled(125, 0xfe);
  const tenPings = Array.from({ length: 10 }, (_, i) => f(9, `payload-${i}`));
  add("2.1", [whole(f(9))], [pong(""), OK]);
  add("2.2", [whole(f(9, "Hello, world!"))], [pong("Hello, world!"), OK]);
  add("2.3", [whole(f(9, hex("00 ff fe fd fc fb 00 ff")))], [pong(hex("00 ff fe fd fc fb 00 ff")), OK]);
  add("2.4", [whole(f(9, ping125))], [pong(ping125), OK]);
  add("2.5", [whole(f(9, filled(126, 0xfe)))], [PROTOCOL]);
  add("2.6", [chopped(1, f(9, ping125))], [pong(ping125), OK]);
  add("2.7", [whole(f(10))], [OK]);
  add("2.8", [whole(f(10, "unsolicited pong payload"))], [OK]);
  add("2.9", [whole(f(10, "unsolicited pong payload"), f(9, "ping payload"))], [pong("ping payload"), OK]);
  add("2.10", [whole(...tenPings)], [...tenPings.map((_, i) => pong(`payload-${i}`)), OK]);
  add("2.11", [chopped(1, ...tenPings)], [...tenPings.map((_, i) => pong(`payload-${i}`)), OK]);

  // 3: reserved bits set without an extension that defines them (every value 1–7, on each kind of frame).
  const hello = f(1, "Hello, world!");
  add("3.1", [whole(f(1, "Hello, world!", { rsv: 1 }))], [PROTOCOL]);
  add("3.2", [whole(hello, f(1, "Hello, world!", { rsv: 2 }), f(9))], [text("Hello, world!"), PROTOCOL]);
  add("3.3", each(hello, f(1, "Hello, world!", { rsv: 3 }), f(9)), [text("Hello, world!"), PROTOCOL]);
  add("3.4", [chopped(1, hello, f(1, "Hello, world!", { rsv: 4 }), f(9))], [text("Hello, world!"), PROTOCOL]);
  add("3.5", [whole(f(2, filled(8, 0xff), { rsv: 5 }))], [PROTOCOL]);
  add("3.6", [whole(f(9, "Hello, world!", { rsv: 6 }))], [PROTOCOL]);
  add("3.7", [whole(f(8, hex("03 e8"), { rsv: 7 }))], [PROTOCOL]);

  // 4: reserved opcodes, non-control (3–7) and control (11–15), alone and after a valid message.
  [[3, 11], [4, 12], [5, 13], [6, 14], [7, 15]].forEach(([data, control], i) => {
    const n = i + 1;
    const first = n <= 2 ? [] : [hello];
    const payload = n === 1 || n === 3 ? "" : "reserved opcode payload";
    for (const [group, op] of [[1, data!], [2, control!]] as const) {
      add(`4.${group}.${n}`, [whole(...first, f(op, payload), f(9))], [...(first.length ? [text("Hello, world!")] : []), PROTOCOL]);
    }
  });

  // 5: fragmentation.
  const frag1 = f(1, "fragment1", { fin: false });
  const frag2 = f(0, "fragment2");
  const pingMid = f(9, "ping payload");
  add("5.1", [whole(f(9, "fragment1", { fin: false }), f(0, "fragment2"))], [PROTOCOL]);
  add("5.2", [whole(f(10, "fragment1", { fin: false }), f(0, "fragment2"))], [PROTOCOL]);
  add("5.3", [whole(frag1, frag2)], [text("fragment1fragment2"), OK]);
  add("5.4", [chopped(1, frag1, frag2)], [text("fragment1fragment2"), OK]);
  add("5.5", each(frag1, frag2), [text("fragment1fragment2"), OK]);
  add("5.6", [whole(frag1, pingMid, frag2)], [pong("ping payload"), text("fragment1fragment2"), OK]);
  add("5.7", [chopped(1, frag1, pingMid, frag2)], [pong("ping payload"), text("fragment1fragment2"), OK]);
  add("5.8", each(frag1, pingMid, frag2), [pong("ping payload"), text("fragment1fragment2"), OK]);
  const orphanFin = [f(0, "non-continuation payload"), hello];
  add("5.9", [whole(...orphanFin)], [PROTOCOL]);
  add("5.10", each(...orphanFin), [PROTOCOL]);
  add("5.11", [chopped(1, ...orphanFin)], [PROTOCOL]);
  const orphan = [f(0, "non-continuation payload", { fin: false }), hello];
  add("5.12", [whole(...orphan)], [PROTOCOL]);
  add("5.13", each(...orphan), [PROTOCOL]);
  add("5.14", [chopped(1, ...orphan)], [PROTOCOL]);
  add("5.15", [whole(frag1, frag2, f(0, "fragment3", { fin: false }), f(1, "fragment4"))], [text("fragment1fragment2"), PROTOCOL]);
  const twice = (first: boolean) => [f(0, "fragment1", { fin: first }), f(1, "fragment2", { fin: false }), f(0, "fragment3")];
  add("5.16", [whole(...twice(false), ...twice(false))], [PROTOCOL]);
  add("5.17", [whole(...twice(true), ...twice(true))], [PROTOCOL]);
  add("5.18", [whole(frag1, f(1, "fragment2"))], [PROTOCOL]);
  const five = ["fragment1", "fragment2", "fragment3", "fragment4", "fragment5"];
  const withPings = [f(1, five[0]!, { fin: false }), f(0, five[1]!, { fin: false }), f(9, "pongme 1!"), f(0, five[2]!, { fin: false }), f(0, five[3]!, { fin: false }), f(9, "pongme 2!"), f(0, five[4]!)];
  add("5.19", [whole(...withPings)], [pong("pongme 1!"), pong("pongme 2!"), text(five.join("")), OK]);
  add("5.20", each(...withPings), [pong("pongme 1!"), pong("pongme 2!"), text(five.join("")), OK]);

  // 6: UTF-8. Empty messages and fragments; valid text whole, in two fragments at every split point
  // and in 1-byte fragments; invalid text likewise (1007); fail-fast: 1007 before the rest is sent.
  add("6.1.1", [whole(f(1))], [text(""), OK]);
  add("6.1.2", [whole(f(1, "", { fin: false }), f(0, "", { fin: false }), f(0))], [text(""), OK]);
  add("6.1.3", [whole(f(1, "", { fin: false }), f(0, "middle frame payload", { fin: false }), f(0))], [text("middle frame payload"), OK]);
  const kosme = hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
  const badKosme = concat(kosme, hex("ed a0 80"), enc("edited"));
  const helloUtf8 = enc("Hello-µ@ßöäüàá-UTF-8!!");
  const oneByteFragments = (bytes: Uint8Array) => Array.from(bytes, (b, i) => f(i === 0 ? 1 : 0, Uint8Array.of(b), { fin: i === bytes.length - 1 }));
  const split = (bytes: Uint8Array, k: number) => [f(1, bytes.subarray(0, k), { fin: false }), f(0, bytes.subarray(k))];
  add("6.2.1", [whole(f(1, helloUtf8))], [text(helloUtf8), OK]);
  add("6.2.3", [whole(...oneByteFragments(helloUtf8))], [text(helloUtf8), OK]);
  add("6.2.4", [whole(...oneByteFragments(kosme))], [text(kosme), OK]);
  add("6.3.1", [whole(f(1, badKosme))], [UTF8]);
  add("6.3.2", [whole(...oneByteFragments(badKosme))], [UTF8]);
  // Fail fast: the invalid bytes in the first fragment (6.4.1), at the start of the second (6.4.2),
  // spanning fragments (6.4.3), in 1-byte writes (6.4.4); the rest follows only after the 1007.
  const bad4 = hex("f4 90 80 80");
  add("6.4.1", [whole(f(1, concat(kosme, bad4), { fin: false })), { waitForClose: true }, whole(f(0, enc("edited"), { fin: false }), f(0))], [UTF8]);
  add("6.4.2", [whole(f(1, kosme, { fin: false })), whole(f(0, concat(bad4, enc("edited")), { fin: false })), { waitForClose: true }, whole(f(0))], [UTF8]);
  add("6.4.3", [whole(f(1, concat(kosme, bad4.subarray(0, 2)), { fin: false })), whole(f(0, bad4.subarray(2), { fin: false })), { waitForClose: true }, whole(f(0, "edited"))], [UTF8]);
  add("6.4.4", [chopped(1, f(1, concat(kosme, bad4, enc("edited")))), { waitForClose: true }], [UTF8]);
  sequences.forEach(([name, h, valid], i) => {
    const bytes = hex(h);
    add(`6.5.${i + 1} ${name}`, [whole(f(1, bytes))], valid ? [text(bytes), OK] : [UTF8]);
  });
  // Every split point of a few sequences (two fragments each), valid and invalid.
  for (const [name, bytes, valid] of [["Hello-µ@ßöäüàá-UTF-8!!", helloUtf8, true], ["kosme", kosme, true], ["U+10FFFF", hex("f4 8f bf bf"), true], ["kosme + surrogate", badKosme, false], ["U+110000", bad4, false], ["overlong /", hex("e0 80 af"), false]] as const) {
    for (let k = 1; k < bytes.length; k++) add(`6.2.2 ${name} split at ${k}`, [whole(...split(bytes, k))], valid ? [text(bytes), OK] : [UTF8]);
  }

  // 7: closing. Frames after a close are ignored; close payloads are checked (length, code, UTF-8 reason).
  add("7.1.1", [whole(hello, closeFrame(1000))], [text("Hello, world!"), OK]);
  add("7.1.2", [whole(closeFrame(1000), closeFrame(1000))], [OK]);
  add("7.1.3", [whole(closeFrame(1000), f(9))], [OK]);
  add("7.1.4", [whole(closeFrame(1000), hello)], [OK]);
  add("7.1.5", [whole(frag1, closeFrame(1000), frag2)], [OK]);
  const big = filled(256 * 1024, 0x2a);
  add("7.1.6", [whole(f(1, big), closeFrame(1000), f(9))], [text(big), OK]);
  add("7.3.1", [whole(closeFrame())], ["close none"]);
  add("7.3.2", [whole(f(8, hex("2a")))], [PROTOCOL]);
  add("7.3.3", [whole(closeFrame(1000))], [OK]);
  add("7.3.4", [whole(closeFrame(1000, enc("Hello World!")))], [OK]);
  add("7.3.5", [whole(closeFrame(1000, filled(123, 0x2a)))], [OK]);
  add("7.3.6", [whole(closeFrame(1000, filled(124, 0x2a)))], [PROTOCOL]);
  add("7.5.1", [whole(closeFrame(1000, badKosme))], [UTF8]);
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999].forEach((code, i) => add(`7.7.${i + 1} code ${code}`, [whole(closeFrame(code))], [`close ${code}`]));
  [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].forEach((code, i) => add(`7.9.${i + 1} code ${code}`, [whole(closeFrame(code))], [PROTOCOL]));
  return { cases, closeFrame };
}
