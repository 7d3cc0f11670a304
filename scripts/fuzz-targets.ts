// Fuzz targets shared by `npm run fuzz` (long runs) and the regression test that replays every saved
// crashing input. A target throws only on a bug: bad input must become events, never exceptions.
import { Connection } from "../src/protocol/connection.js";
import { DeflateCodec } from "../src/protocol/extensions/permessage-deflate.js";
import { WebSocketError } from "../src/protocol/errors.js";
import { zlibEngine } from "../src/adapters/node/zlib-engine.js";
import { pakoEngine } from "../src/protocol/extensions/pako-engine.js";
import type { DeflateEngine } from "../src/protocol/extensions/deflate-engine.js";

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

/** Feeds `input`, answers upgrade requests, ends the transport: exactly one close event must come. */
function drive(c: Connection, input: Uint8Array): void {
  let closes = 0;
  const take = () => {
    for (const ev of c.takeEvents()) {
      if (ev.type === "close") closes++;
      if (ev.type === "request") c.accept();
    }
    c.takeOutgoing();
  };
  for (const chunk of chunks(input)) {
    c.receive(chunk);
    take();
  }
  c.transportClosed();
  take();
  if (closes !== 1) throw new Error(`connection ended with ${closes} close events`);
}

/** Feeds the input, in pieces, to a server's inflater: only typed protocol errors may come out. */
function inflateWith(engine: DeflateEngine, input: Uint8Array): void {
  const codec = new DeflateCodec({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, "server", {}, engine);
  for (const chunk of chunks(input)) {
    try {
      codec.decode(chunk, 1 << 20);
    } catch (e) {
      if (!(e instanceof WebSocketError)) throw e;
    }
  }
  codec.close();
}

export const targets: Record<string, (input: Uint8Array) => void> = {
  /** Frames after an accepted handshake, server role, random chunking. */
  frames(input) {
    drive(Connection.open("server", { maxMessageSize: 1 << 20 }), input);
  },
  /** Frames toward a client. */
  clientFrames(input) {
    drive(Connection.open("client", { maxMessageSize: 1 << 20 }), input);
  },
  /** The HTTP upgrade request parser and checks. */
  handshake(input) {
    drive(Connection.server({ maxHandshakeBytes: 4096 }), input);
  },
  /** The inflate side of permessage-deflate, on node:zlib. */
  inflate(input) {
    inflateWith(zlibEngine, input);
  },
  /** The same on the portable engine (pako), which runs where node:zlib does not. */
  inflatePako(input) {
    inflateWith(pakoEngine, input);
  },
};
