// `npm run fuzz:corpus`: writes the hand-built part of the regression corpus to
// test/fuzz-regressions/ (one `<target>-<case>.bin` per input: the format `npm run fuzz` saves
// crashing inputs in). Each input breaks, or sits at the edge of, a rule a past defect got wrong;
// what must come of it is recorded, by hand, in test/fuzz-regressions/expected.json, and
// test/fuzz-regressions.test.ts replays every file against it. The bytes are built here with the
// tests' own plain frame builder (test/helpers/frames.ts), not the library's encoder.
import { writeFileSync } from "node:fs";
import { deflateRawSync } from "node:zlib";
import { concat, frame, KEY } from "../test/helpers/frames.js";

const dir = new URL("../test/fuzz-regressions/", import.meta.url);
const enc = new TextEncoder();
const bytes = (...b: number[]) => Uint8Array.from(b);
/** A close frame's payload: the code, big-endian, then the reason's bytes. */
const closePayload = (code: number, reason: Uint8Array | string = "") => concat(bytes(code >> 8, code & 0xff), typeof reason === "string" ? enc.encode(reason) : reason);
/** A message compressed as permessage-deflate sends it: raw deflate, sync flush, tail removed. */
const compressed = (data: Uint8Array) => {
  const d = deflateRawSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
  return d.subarray(0, d.length - 4);
};

// Toward a server (client frames are masked).
const m = (opcode: number, payload: Uint8Array | string = new Uint8Array(0), more: { fin?: boolean; rsv?: number; lengthForm?: 7 | 16 | 64; announce?: bigint } = {}) =>
  frame({ opcode, payload, key: KEY, ...more });
// Toward a client (server frames are not).
const u = (opcode: number, payload: Uint8Array | string = new Uint8Array(0), more: { fin?: boolean; rsv?: number } = {}) => frame({ opcode, payload, ...more });

const request = (headers: Record<string, string | undefined> = {}, line = "GET /chat HTTP/1.1") => {
  const all: Record<string, string | undefined> = {
    Host: "example.com",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`);
  return enc.encode(`${line}\r\n${lines.join("")}\r\n`);
};

const cases: Record<string, Uint8Array> = {
  // Control frames: never fragmented, at most 125 bytes (RFC 6455 §5.5).
  "frames-ping-without-fin": m(9, "x", { fin: false }),
  "frames-ping-126-bytes": m(9, new Uint8Array(126)),
  "frames-ping-125-bytes": m(9, new Uint8Array(125)),
  "frames-ping-between-fragments": concat(m(1, "Hel", { fin: false }), m(9, "p"), m(0, "lo")),
  // Close frames: 0 or ≥ 2 payload bytes, a code that may travel, a UTF-8 reason (§5.5.1, §7.4).
  "frames-close-1-byte-payload": m(8, bytes(0x03)),
  "frames-close-empty": m(8),
  "frames-close-1000-with-reason": m(8, closePayload(1000, "bye")),
  "frames-close-code-999": m(8, closePayload(999)),
  "frames-close-code-1005": m(8, closePayload(1005)),
  "frames-close-code-1016": m(8, closePayload(1016)),
  "frames-close-code-5000": m(8, closePayload(5000)),
  "frames-close-code-4999": m(8, closePayload(4999)),
  "frames-close-reason-bad-utf8": m(8, closePayload(1000, bytes(0x61, 0xff))),
  "frames-data-after-close-ignored": concat(m(8, closePayload(1000)), m(1, "late")),
  // UTF-8 validated across fragment boundaries, and at the end of the message (§8.1).
  "frames-utf8-split-across-fragments": concat(m(1, bytes(0x61, 0xe2), { fin: false }), m(0, bytes(0x82), { fin: false }), m(0, bytes(0xac, 0xf0, 0x9f), { fin: false }), m(0, bytes(0x98, 0x80))),
  "frames-utf8-4-byte-split-in-3": concat(m(1, bytes(0xf0), { fin: false }), m(0, bytes(0x9f, 0x98), { fin: false }), m(0, bytes(0x80))),
  "frames-utf8-bad-continuation-in-next-fragment": concat(m(1, bytes(0xe2, 0x82), { fin: false }), m(0, bytes(0x28))),
  "frames-utf8-truncated-at-fin": m(1, bytes(0x61, 0xe2, 0x82)),
  "frames-utf8-overlong": m(1, bytes(0xc0, 0xaf)),
  "frames-utf8-surrogate": m(1, bytes(0xed, 0xa0, 0x80)),
  "frames-utf8-above-u10ffff": m(1, bytes(0xf4, 0x90, 0x80, 0x80)),
  "frames-binary-not-utf8-checked": m(2, bytes(0xff, 0xfe)),
  // Lengths (§5.2).
  "frames-length-high-bit": m(2, new Uint8Array(0), { announce: 1n << 63n }),
  "frames-length-over-max-message": m(2, new Uint8Array(16), { announce: 2n << 20n }),
  "frames-length-over-max-frame": m(2, new Uint8Array(16), { announce: 1n << 40n }),
  "frames-length-16-bit-form-for-3-bytes": m(2, bytes(1, 2, 3), { lengthForm: 16 }),
  "frames-empty-fragments": concat(m(1, "", { fin: false }), m(0, "")),
  // Opcodes and reserved bits (§5.2).
  "frames-reserved-opcode-3": m(3, "x"),
  "frames-reserved-opcode-b": m(0xb),
  "frames-rsv1-without-extension": m(1, "x", { rsv: 4 }),
  "frames-rsv2": m(2, "x", { rsv: 2 }),
  "frames-rsv3": m(2, "x", { rsv: 1 }),
  "frames-unexpected-continuation": m(0, "x"),
  "frames-expected-continuation": concat(m(1, "a", { fin: false }), m(1, "b")),
  // Masking by role (§5.1).
  "frames-unmasked-to-server": u(1, "hi"),
  "clientFrames-masked-to-client": m(1, "hi"),
  "clientFrames-text": u(1, "hello"),
  "clientFrames-close-1-byte-payload": u(8, bytes(0x03)),
  // permessage-deflate (RFC 7692): RSV1 on the first frame only, never on control frames;
  // inflated size bounded by maxMessageSize (1 MiB here).
  "deflateFrames-rfc7692-hello": m(1, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), { rsv: 4 }),
  "deflateFrames-fragmented": (() => {
    const c = compressed(enc.encode("fragmented and compressed"));
    return concat(m(1, c.subarray(0, 5), { fin: false, rsv: 4 }), m(0, c.subarray(5)));
  })(),
  "deflateFrames-bomb": m(2, compressed(new Uint8Array(4 << 20)), { rsv: 4 }),
  "deflateFrames-rsv1-on-continuation": concat(m(1, "a", { fin: false }), m(0, "b", { rsv: 4 })),
  "deflateFrames-rsv1-on-ping": m(9, "x", { rsv: 4 }),
  "deflateFrames-corrupt-data": m(2, enc.encode("\x04garbage, not a deflate stream"), { rsv: 4 }),
  "deflateFrames-text-inflates-to-bad-utf8": m(1, compressed(bytes(0x61, 0xff, 0x62)), { rsv: 4 }),
  // The upgrade request (RFC 6455 §4.2.1), and frames sent right behind it.
  "handshake-valid-then-frame": concat(request(), m(1, "hi")),
  "handshake-post": request({}, "POST /chat HTTP/1.1"),
  "handshake-version-8": request({ "Sec-WebSocket-Version": "8" }),
  "handshake-no-key": request({ "Sec-WebSocket-Key": undefined }),
  "handshake-15-byte-key": request({ "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAA" }),
  "handshake-tls-hello": enc.encode("\x16\x03\x01 garbage\r\n\r\n"),
  "handshake-head-over-limit": request({ "X-Big": "a".repeat(5000) }),
  "handshake-bad-frame-after-101": concat(request(), u(1, "unmasked")),
  // The inflaters on their own. The target cuts its input into messages at lengths drawn from the
  // input's own bytes: these start with a byte that keeps what matters in the first message.
  "inflate-rfc7692-hello": bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00),
  "inflate-garbage": enc.encode("\x04garbage, not a deflate stream"),
  "inflate-stored-block-bad-nlen": bytes(0x01, 0x05, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65),
  "inflatePako-rfc7692-hello": bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00),
  "inflatePako-garbage": enc.encode("\x04garbage, not a deflate stream"),
  "inflatePako-stored-block-bad-nlen": bytes(0x01, 0x05, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65),
};

for (const [name, input] of Object.entries(cases)) writeFileSync(new URL(`${name}.bin`, dir), input);
console.log(`${Object.keys(cases).length} inputs written to test/fuzz-regressions/`);
