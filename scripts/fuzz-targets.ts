// Fuzz targets shared by `npm run fuzz` (long runs) and the regression test that replays the saved
// corpus. A target throws only on a bug: bad input must become events, never exceptions. Each
// returns its outcome as lines of text (events, then what it sent back), which the regression test
// compares with the outcome recorded for each saved input (test/fuzz-regressions/expected.json).
import { Connection } from "../src/protocol/connection.js";
import { DeflateCodec } from "../src/protocol/extensions/permessage-deflate.js";
import { WebSocketError } from "../src/protocol/errors.js";
import type { ConnectionEvent } from "../src/protocol/events.js";
import { zlibEngine } from "../src/adapters/zlib-engine.js";
import { pakoEngine } from "../src/protocol/extensions/pako-engine.js";
import type { DeflateEngine } from "../src/protocol/extensions/deflate-engine.js";

/** Lines describing what a target did with an input. */
export type Outcome = string[];

/** Splits `input` into chunks at positions drawn from its own first bytes (deterministic). */
function chunks(input: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let i = 0;
  while (at < input.length) {
    const n = 1 + ((input[i++ % input.length]! * 7) % 97);
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** A fixed clock: no target waits, and outcomes must not depend on when they run. */
const clock = { now: () => 0 };

const quote = (s: string) => (s.length <= 40 ? JSON.stringify(s) : `${s.length} chars`);

function describeEvent(ev: ConnectionEvent): string {
  switch (ev.type) {
    case "request":
      return "request";
    case "open":
      return `open${ev.extensions ? ` ${ev.extensions}` : ""}`;
    case "message":
      return typeof ev.data === "string" ? `message text ${quote(ev.data)}` : `message ${ev.binary ? "binary" : "text"} ${ev.data.length}B`;
    case "fragment":
      return `fragment ${ev.binary ? "binary" : "text"} ${ev.data.length}B${ev.first ? " first" : ""}${ev.last ? " last" : ""}`;
    case "ping":
    case "pong":
      return `${ev.type} ${ev.data.length}B`;
    case "closing":
      return `closing ${ev.code} ${quote(ev.reason)}`;
    case "close":
      return `close ${ev.code} ${ev.wasClean ? "clean" : "unclean"}`;
    case "error": {
      const status = (ev.error as { status?: unknown }).status;
      return `error ${ev.error.code} ${ev.error.closeCode}${typeof status === "number" ? ` http ${status}` : ""}`;
    }
  }
}

const OPCODES: Record<number, string> = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

/** Describes the bytes a connection wrote: an HTTP response head, then frames (a client's masked). */
function describeSent(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let at = 0;
  const latin1 = new TextDecoder("latin1");
  if (latin1.decode(bytes.subarray(0, 5)) === "HTTP/") {
    const text = latin1.decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) return [`sent an unterminated HTTP head (${bytes.length}B)`];
    const status = text.slice(0, text.indexOf("\r\n")).split(" ").slice(0, 2).join(" ");
    out.push(`sent ${status}`);
    at = end + 4;
    // A refusal's body is text, and the last thing sent; after a 101 come frames.
    if (!status.endsWith(" 101")) {
      if (at < bytes.length) out.push(`sent body ${quote(text.slice(at))}`);
      return out;
    }
  }
  while (at < bytes.length) {
    const start = at;
    if (bytes.length - at < 2) break;
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    at += 2;
    let len = b1 & 0x7f;
    if (len === 126) {
      len = (bytes[at]! << 8) | bytes[at + 1]!;
      at += 2;
    } else if (len === 127) {
      len = Number(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0));
      at += 8;
    }
    const key = b1 & 0x80 ? bytes.subarray(at, (at += 4)) : undefined;
    if (at + len > bytes.length) {
      at = start;
      break;
    }
    const payload = bytes.slice(at, at + len);
    at += len;
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    const opcode = b0 & 0x0f;
    const flags = `${b0 & 0x80 ? "" : " nofin"}${b0 & 0x40 ? " rsv1" : ""}${key ? " masked" : ""}`;
    let what = `${OPCODES[opcode] ?? `opcode ${opcode}`} ${len}B`;
    if (opcode === 8) what = len >= 2 ? `close ${(payload[0]! << 8) | payload[1]!} ${quote(new TextDecoder().decode(payload.subarray(2)))}` : `close ${len === 0 ? "without a code" : "1B"}`;
    out.push(`sent ${what}${flags}`);
  }
  if (at < bytes.length) out.push(`sent ${bytes.length - at} bytes that are not a frame`);
  return out;
}

/** Feeds `input`, answers upgrade requests, ends the transport: exactly one close event must come. */
function drive(c: Connection, input: Uint8Array): Outcome {
  const events: string[] = [];
  const sent: Uint8Array[] = [];
  let closes = 0;
  const take = () => {
    for (const ev of c.takeEvents()) {
      events.push(describeEvent(ev));
      if (ev.type === "close") closes++;
      if (ev.type === "request") c.accept();
    }
    sent.push(...c.takeOutgoing().map((b) => b.slice()));
  };
  for (const chunk of chunks(input)) {
    c.receive(chunk);
    take();
  }
  c.transportClosed();
  take();
  if (closes !== 1) throw new Error(`connection ended with ${closes} close events`);
  const all = new Uint8Array(sent.reduce((n, b) => n + b.length, 0));
  sent.reduce((at, b) => (all.set(b, at), at + b.length), 0);
  return [...events, ...describeSent(all)];
}

const DEFLATE_PARAMS = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** Feeds the input, in pieces, to a server's inflater: only typed protocol errors may come out. */
function inflateWith(engine: DeflateEngine, input: Uint8Array): Outcome {
  const codec = new DeflateCodec(DEFLATE_PARAMS, "server", {}, engine);
  const out: Outcome = [];
  for (const chunk of chunks(input)) {
    try {
      out.push(`inflated ${codec.decode(chunk, 1 << 20).length}B`);
    } catch (e) {
      if (!(e instanceof WebSocketError)) throw e;
      out.push(`error ${e.code} ${e.closeCode}`);
    }
  }
  codec.close();
  return out;
}

export const targets: Record<string, (input: Uint8Array) => Outcome> = {
  /** Frames after an accepted handshake, server role, random chunking. */
  frames(input) {
    return drive(Connection.open("server", { maxMessageSize: 1 << 20, clock }), input);
  },
  /** Frames toward a client. */
  clientFrames(input) {
    return drive(Connection.open("client", { maxMessageSize: 1 << 20, clock }), input);
  },
  /** Frames toward a server that negotiated permessage-deflate (node:zlib): RSV1 messages are inflated. */
  deflateFrames(input) {
    const codec = new DeflateCodec(DEFLATE_PARAMS, "server", {}, zlibEngine);
    return drive(Connection.open("server", { maxMessageSize: 1 << 20, clock, codec, extensions: "permessage-deflate" }), input);
  },
  /** The HTTP upgrade request parser and checks. */
  handshake(input) {
    return drive(Connection.server({ maxHandshakeBytes: 4096, clock }), input);
  },
  /** The inflate side of permessage-deflate, on node:zlib. */
  inflate(input) {
    return inflateWith(zlibEngine, input);
  },
  /** The same on the portable engine (pako), which runs where node:zlib does not. */
  inflatePako(input) {
    return inflateWith(pakoEngine, input);
  },
};
