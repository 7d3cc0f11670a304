// permessage-deflate (RFC 7692): negotiation tables, round trips, ws interop, bombs, bad data.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { deflateRawSync } from "node:zlib";
import WS, { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { Connection } from "../src/protocol/connection.js";
import {
  validateDeflateResponse, clientOffer, DeflateCodec, deflateForClient, deflateForServer, negotiateServer, type DeflateOptions,
} from "../src/protocol/extensions/permessage-deflate.js";
import { pakoEngine } from "../src/protocol/extensions/pako-engine.js";
import { zlibEngine } from "../src/adapters/zlib-engine.js";
import { WebSocketServer, connect, type WebSocket } from "../src/node.js";
import { concat, frame, KEY } from "./helpers/frames.js";
import { closeServer } from "./helpers/servers.js";

const engines = { zlib: zlibEngine, pako: pakoEngine };

describe("server negotiation (offer → response)", () => {
  const table: [string, string[], DeflateOptions, string | undefined][] = [
    ["plain offer", ["permessage-deflate"], {}, "permessage-deflate"],
    ["browser offer (a bare client_max_window_bits needs no answer)", ["permessage-deflate; client_max_window_bits"], {}, "permessage-deflate"],
    ["both no-context", ["permessage-deflate; server_no_context_takeover; client_no_context_takeover"], {}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
    ["server window 10", ["permessage-deflate; server_max_window_bits=10"], {}, "permessage-deflate; server_max_window_bits=10"],
    ["our server window limit", ["permessage-deflate"], { serverMaxWindowBits: 11 }, "permessage-deflate; server_max_window_bits=11"],
    ["min of both windows", ["permessage-deflate; server_max_window_bits=12"], { serverMaxWindowBits: 9 }, "permessage-deflate; server_max_window_bits=9"],
    ["client window with value", ["permessage-deflate; client_max_window_bits=9"], {}, "permessage-deflate; client_max_window_bits=9"],
    ["our client window limit", ["permessage-deflate; client_max_window_bits"], { clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10"],
    ["we impose client no-context", ["permessage-deflate"], { clientNoContextTakeover: true }, "permessage-deflate; client_no_context_takeover"],
    ["quoted value", ['permessage-deflate; server_max_window_bits="10"'], {}, "permessage-deflate; server_max_window_bits=10"],
    ["duplicate parameter: declined", ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"], {}, undefined],
    ["window 7: declined", ["permessage-deflate; server_max_window_bits=7"], {}, undefined],
    ["window 16: declined", ["permessage-deflate; client_max_window_bits=16"], {}, undefined],
    ["server window without value: declined", ["permessage-deflate; server_max_window_bits"], {}, undefined],
    ["unknown parameter: declined", ["permessage-deflate; foo=1"], {}, undefined],
    ["value on a flag: declined", ["permessage-deflate; server_no_context_takeover=1"], {}, undefined],
    ["other extension only", ["x-webkit-deflate-frame"], {}, undefined],
    ["first acceptable of several offers", ["permessage-deflate; foo, permessage-deflate; server_max_window_bits=10", "permessage-deflate"], {}, "permessage-deflate; server_max_window_bits=10"],
    ["malformed header", ["permessage-deflate; =="], {}, undefined],
  ];
  it.each(table)("%s", (_n, offers, options, expected) => {
    expect(negotiateServer(offers, options, zlibEngine)?.response).toBe(expected);
  });

  it("with pako, declines an 8-bit server window (zlib cannot write raw deflate with one) and takes 9", () => {
    expect(negotiateServer(["permessage-deflate; server_max_window_bits=8", "permessage-deflate"], {}, pakoEngine)?.response).toBe("permessage-deflate");
    expect(negotiateServer(["permessage-deflate; server_max_window_bits=9"], {}, pakoEngine)?.response).toBe("permessage-deflate; server_max_window_bits=9");
  });
});

describe("client negotiation (response check)", () => {
  it("offers client_max_window_bits where the engine can honour any value", () => {
    expect(clientOffer({}, zlibEngine)).toBe("permessage-deflate; client_max_window_bits");
    // pako cannot honour 8, so it does not offer "any value".
    expect(clientOffer({}, pakoEngine)).toBe("permessage-deflate");
    expect(clientOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }, zlibEngine)).toBe(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
    );
  });
  it("accepts valid responses", () => {
    expect(validateDeflateResponse("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9", {}, zlibEngine)).toEqual({
      serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 9,
    });
    expect(validateDeflateResponse("", {}, zlibEngine)).toBeUndefined();
  });
  it.each([
    ["an extension we did not offer", "x-foo"],
    ["two extensions", "permessage-deflate, permessage-deflate"],
    ["a duplicate parameter", "permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
    ["client_max_window_bits without a value", "permessage-deflate; client_max_window_bits"],
    ["an unknown parameter", "permessage-deflate; foo"],
    ["an out-of-range window", "permessage-deflate; server_max_window_bits=16"],
  ])("fails the connection on %s", (_n, response) => {
    expect(() => validateDeflateResponse(response, {}, zlibEngine)).toThrow(/./);
  });
  it("fails when the server ignores what we asked for", () => {
    expect(() => validateDeflateResponse("permessage-deflate", { serverNoContextTakeover: true }, zlibEngine)).toThrow(/server_no_context_takeover/);
    expect(() => validateDeflateResponse("permessage-deflate; server_max_window_bits=12", { serverMaxWindowBits: 10 }, zlibEngine)).toThrow(/server_max_window_bits/);
  });
});

/** A server and a client connection wired back to back through negotiation. */
function pair(clientOptions: DeflateOptions, serverOptions: DeflateOptions, engine = zlibEngine, clientEngine = engine) {
  const client = Connection.client("ws://x/", { negotiator: deflateForClient(clientOptions, clientEngine), maxMessageSize: 1 << 25 });
  const server = Connection.server({ maxMessageSize: 1 << 25 });
  server.receive(concat(...client.takeOutgoing()));
  const req = server.takeEvents()[0] as { request: { extensions: string[] } };
  server.accept(deflateForServer(req.request.extensions, serverOptions, engine) ?? {});
  client.receive(concat(...server.takeOutgoing()));
  client.takeEvents();
  server.takeEvents();
  return { client, server };
}

function transfer(from: Connection, to: Connection) {
  const bytes = concat(...from.takeOutgoing());
  to.receive(bytes);
  return { bytes, events: to.takeEvents() };
}

type EngineName = keyof typeof engines;
const enginePairs: [EngineName, EngineName][] = [["zlib", "zlib"], ["zlib", "pako"], ["pako", "zlib"], ["pako", "pako"]];

describe.each(enginePairs)("round trips, server on %s, client on %s", (serverName, clientName) => {
  const [serverEngine, clientEngine] = [engines[serverName], engines[clientName]];
  // zlib cannot write raw deflate with an 8-bit window; where pako compresses, 9 is the smallest.
  const smallest = serverName === "pako" || clientName === "pako" ? 9 : 8;
  const combos: DeflateOptions[] = [
    {},
    { serverNoContextTakeover: true },
    { clientNoContextTakeover: true },
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    { serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
    { serverMaxWindowBits: smallest, clientMaxWindowBits: smallest },
  ];
  it.each(combos)("both directions, sizes 0 B … 1 MiB (16 MiB with defaults), with %o", (opts) => {
    const { client, server } = pair(opts, {}, serverEngine, clientEngine);
    expect(client.extensions).toContain("permessage-deflate");
    const text = "The quick brown fox 🦊 jumps over the lazy dog. ";
    // 16 MiB once per pairing (defaults); the parameter variants stop at 1 MiB to keep the suite quick.
    const sizes = [0, 1, 1023, 1024, 5000, 70_000, 1 << 20, ...(Object.keys(opts).length === 0 ? [16 << 20] : [])];
    for (const n of sizes) {
      const s = text.repeat(Math.ceil(n / text.length)).slice(0, n);
      const bin = new Uint8Array(Math.min(n, 1 << 20)).map((_, i) => (i * 7) & 0xff);
      for (const [a, b] of [[client, server], [server, client]] as const) {
        a.send(s);
        a.send(bin);
        const { bytes, events } = transfer(a, b);
        // Compared by hand: deep equality over megabytes is slow.
        expect(events.map((e) => e.type)).toEqual(["message", "message"]);
        const [t, b2] = events as { data: string | Uint8Array; binary: boolean }[];
        expect(t!.binary === false && t!.data === s).toBe(true);
        expect(b2!.binary && b2!.data instanceof Uint8Array && Buffer.compare(b2!.data, bin) === 0).toBe(true);
        // It really compressed (text and binary together).
        if (n >= 70_000) expect(bytes.length).toBeLessThan(0.9 * (Buffer.byteLength(s) + bin.length));
      }
    }
  });

  it("sets RSV1 on a compressed message", () => {
    const { client, server } = pair({}, {}, serverEngine, clientEngine);
    const big = "abc".repeat(10_000);
    client.send(big);
    const out = concat(...client.takeOutgoing());
    expect(out[0]! & 0x40).toBe(0x40);
    server.receive(out);
    expect(server.takeEvents()).toEqual([{ type: "message", data: big, binary: false }]);
  });
});

describe("pako engine against zlib itself", () => {
  const record = (i: number) => JSON.stringify({ id: i, user: `user${i % 97}`, tags: ["a", "bb"], note: "text ".repeat(i % 13) });
  it("each non-empty compressed message ends in 00 00 ff ff and zlib inflates the stream with its context", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 400 }).map((n) => new TextEncoder().encode(record(n).repeat(n % 7)))), { maxLength: 12 }), fc.integer({ min: 9, max: 15 }), fc.integer({ min: 0, max: 9 }), (messages, windowBits, level) => {
        const deflater = pakoEngine.compressor!({ windowBits, level, memLevel: 8 });
        const inflater = zlibEngine.decompressor(windowBits); // a window of exactly `windowBits`: a farther match fails
        for (const m of messages) {
          const z = deflater.compress(m);
          // (An empty message right after a flush adds nothing: zlib has nothing to flush.)
          if (m.length > 0) expect(Array.from(z.subarray(-4))).toEqual([0, 0, 0xff, 0xff]);
          expect(Buffer.compare(inflater.decompress(z, Infinity), m)).toBe(0);
        }
        deflater.close();
        inflater.close();
      }),
      { numRuns: 60 },
    );
  });
  it("inflates zlib's stream with its context, message by message", () => {
    const deflater = zlibEngine.compressor!({ windowBits: 15, level: 6, memLevel: 8 });
    const inflater = pakoEngine.decompressor(15);
    for (let i = 0; i < 200; i++) {
      const m = new TextEncoder().encode(record(i).repeat(1 + (i % 5)));
      expect(Buffer.compare(inflater.decompress(deflater.compress(m), Infinity), m)).toBe(0);
    }
  });
});

describe.each(Object.keys(engines) as EngineName[])("decompression safety on %s", (name) => {
  function server(maxMessageSize: number) {
    const c = Connection.open("server", { maxMessageSize, codec: new DeflateCodec({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, "server", {}, engines[name]) });
    c.takeEvents();
    return c;
  }
  it("stops a bomb at the size limit with 1009 (100 KB that inflates to ~100 MB)", () => {
    const bomb = deflateRawSync(Buffer.alloc(100 << 20), { level: 9 });
    const c = server(1 << 20);
    const before = process.memoryUsage().rss;
    c.receive(frame({ opcode: 2, rsv: 4, payload: bomb, key: KEY }));
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { closeCode: 1009 } }]);
    expect(process.memoryUsage().rss - before).toBeLessThan(50 << 20);
  });
  it("reads a message that ends its deflate stream (BFINAL) and the ones after it", () => {
    const c = server(1 << 20);
    for (const text of ["one", "two"]) {
      c.receive(frame({ opcode: 1, rsv: 4, payload: deflateRawSync(Buffer.from(text)), key: KEY }));
      expect(c.takeEvents()).toEqual([{ type: "message", data: text, binary: false }]);
    }
  });
  it("fails invalid compressed data with 1007, keeping messages before it", () => {
    const c = server(1 << 20);
    const good = deflateRawSync(Buffer.from("fine"));
    c.receive(concat(frame({ opcode: 1, rsv: 4, payload: good.subarray(0, good.length), key: KEY }), frame({ opcode: 1, rsv: 4, payload: Uint8Array.of(0xff, 0xff, 0xff, 0xff), key: KEY })));
    const ev = c.takeEvents();
    expect(ev[0]).toEqual({ type: "message", data: "fine", binary: false });
    expect(ev[1]).toMatchObject({ type: "error", error: { closeCode: 1007 } });
  });
  it("fails compressed text that inflates to invalid UTF-8 with 1007", () => {
    const c = server(1 << 20);
    c.receive(frame({ opcode: 1, rsv: 4, payload: deflateRawSync(Buffer.from([0x61, 0xc0, 0xaf])), key: KEY }));
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { closeCode: 1007 } }]);
  });
});

describe("interop with ws (perMessageDeflate) over TCP", () => {
  const variants: [string, object][] = [
    ["defaults", {}],
    ["serverNoContextTakeover", { serverNoContextTakeover: true }],
    ["clientNoContextTakeover", { clientNoContextTakeover: true }],
    ["serverMaxWindowBits 10", { serverMaxWindowBits: 10 }],
    ["clientMaxWindowBits 10", { clientMaxWindowBits: 10 }],
  ];
  const payloads = ["x".repeat(2000), "hello ".repeat(50_000), "short"];

  /** ws's client, compressing everything, echoes `payloads` through the server on `port`. */
  async function echoWithWsClient(port: number, perMessageDeflate: object): Promise<void> {
    const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: { threshold: 0, ...perMessageDeflate } });
    await new Promise((r) => ws.once("open", r));
    expect(ws.extensions).toContain("permessage-deflate");
    for (const p of payloads) {
      ws.send(p);
      const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (...a: [Buffer]) => r(a)));
      expect(d.toString()).toBe(p);
    }
    ws.close();
  }

  /** Our client, compressing everything, echoes `payloads` through the server on `port`. */
  async function echoWithOurClient(port: number, perMessageDeflate: DeflateOptions): Promise<void> {
    const ws = connect(`ws://127.0.0.1:${port}`, { perMessageDeflate: { threshold: 0, ...perMessageDeflate } });
    await new Promise((r) => ws.once("open", () => r(undefined)));
    expect(ws.extensions).toContain("permessage-deflate");
    for (const p of payloads) {
      ws.send(p);
      const [d] = await new Promise<[unknown]>((r) => ws.once("message", (data) => r([data])));
      expect(Buffer.isBuffer(d)).toBe(true);
      expect(String(d)).toBe(p);
    }
    ws.close();
  }

  describe.each(variants)("ws client → our server, %s", (_n, opts) => {
    let server: WebSocketServer;
    beforeAll(async () => {
      server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
      await new Promise((r) => server.once("listening", () => r(undefined)));
      server.on("connection", (ws: WebSocket) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    });
    afterAll(() => closeServer(server));
    it("echoes compressed messages", () => echoWithWsClient((server.address() as AddressInfo).port, opts));
  });

  describe.each(variants)("our client → ws server, %s", (_n, opts) => {
    let server: WsServer;
    beforeAll(async () => {
      server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0, ...opts } });
      await new Promise((r) => server.once("listening", r));
      server.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    it("echoes compressed messages", () => echoWithOurClient((server.address() as AddressInfo).port, opts as DeflateOptions));
  });

  describe("with the pako engine chosen in the options, both ways", () => {
    /** pako, counting the contexts it opens: proves the option reached the codec. */
    const counted = () => {
      const c = { opened: 0, engine: { ...pakoEngine } };
      c.engine.compressor = (settings) => (c.opened++, pakoEngine.compressor!(settings));
      c.engine.decompressor = (bits) => (c.opened++, pakoEngine.decompressor(bits));
      return c;
    };
    it("our server ↔ ws client", async () => {
      const pako = counted();
      const server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { engine: pako.engine, threshold: 0 } });
      await new Promise((r) => server.once("listening", () => r(undefined)));
      server.on("connection", (ws: WebSocket) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
      await echoWithWsClient((server.address() as AddressInfo).port, {});
      expect(pako.opened).toBe(2);
      await closeServer(server);
    });
    it("our client ↔ ws server", async () => {
      const pako = counted();
      const server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0 } });
      await new Promise((r) => server.once("listening", r));
      server.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
      await echoWithOurClient((server.address() as AddressInfo).port, { engine: pako.engine });
      expect(pako.opened).toBe(2);
      await new Promise<void>((r) => server.close(() => r()));
    });
  });
});

describe("engine errors from another bundle", () => {
  // Another bundle's MessageTooBigError: its own class, with the brand every copy shares (errors.ts).
  class ForeignTooBig extends Error {
    readonly code = "WS_ERR_MESSAGE_TOO_BIG";
    readonly closeCode = 1009;
    get [Symbol.for("wasmsocket.WebSocketError")]() {
      return true;
    }
  }
  const engine = (thrown: unknown) => ({
    name: "foreign",
    supportsWindowBits: () => true,
    decompressor: () => ({ decompress: (): Uint8Array => { throw thrown; }, close() {} }),
  });
  const params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const payload = deflateRawSync(Buffer.from("x"));

  it("keeps the close code of a branded error (1009), not its class", () => {
    const c = Connection.open("server", { codec: new DeflateCodec(params, "server", {}, engine(new ForeignTooBig("too big"))) });
    c.takeEvents();
    c.receive(frame({ opcode: 2, rsv: 4, payload, key: KEY }));
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { closeCode: 1009, code: "WS_ERR_MESSAGE_TOO_BIG" } }]);
  });

  it("fails any other thrown value as invalid compressed data (1007), even one with a closeCode", () => {
    const c = Connection.open("server", { codec: new DeflateCodec(params, "server", {}, engine(Object.assign(new Error("odd"), { closeCode: 1000 }))) });
    c.takeEvents();
    c.receive(frame({ opcode: 2, rsv: 4, payload, key: KEY }));
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { closeCode: 1007, code: "WS_ERR_INVALID_COMPRESSED_DATA" } }]);
  });
});

// Connections of one options object share the receiving halves they are not using (issue 19): a
// compressed connection's inflate context is its codec's, so messages that refer back to earlier
// ones still inflate, with reads of several connections interleaved byte by byte.
describe.each([false, true])("connections sharing options, compressed (no context takeover: %s)", (noContext) => {
  it("inflate each their own messages, one plain connection among them", () => {
    const params = { serverNoContextTakeover: noContext, clientNoContextTakeover: noContext, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
    const options = {};
    const servers = [0, 1].map(() => Connection.open("server", options, { codec: new DeflateCodec(params, "server", {}, zlibEngine) }));
    const plain = Connection.open("server", options);
    const texts = (k: number) => Array.from({ length: 4 }, (_, i) => `connection ${k}: ${"the same words again and again ".repeat(3 + i)}`);
    const inputs = [0, 1].map((k) => {
      const client = Connection.open("client", {}, { codec: new DeflateCodec(params, "client", { threshold: 0 }, zlibEngine) });
      for (const t of texts(k)) client.send(t);
      client.sendFragment("in ", { fin: false });
      client.sendFragment("pieces", { fin: true });
      return concat(...client.takeOutgoing());
    });
    inputs.push(concat(frame({ opcode: 1, payload: "plain ", fin: false, key: KEY }), frame({ opcode: 0, payload: "text", key: KEY })));
    expect(inputs[0]![0]! & 0x40).toBe(0x40); // compressed
    const conns = [...servers, plain];
    for (const c of conns) c.takeEvents();
    const got: unknown[][] = [[], [], []];
    for (let i = 0; i < Math.max(...inputs.map((b) => b.length)); i++) {
      for (let k = 0; k < 3; k++) {
        if (i < inputs[k]!.length) conns[k]!.receive(inputs[k]!.subarray(i, i + 1));
        got[k]!.push(...conns[k]!.takeEvents().map((e) => (e.type === "message" ? e.data : e.type)));
      }
    }
    expect(got[0]).toEqual([...texts(0), "in pieces"]);
    expect(got[1]).toEqual([...texts(1), "in pieces"]);
    expect(got[2]).toEqual(["plain text"]);
  });
});
