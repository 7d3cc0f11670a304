// permessage-deflate (RFC 7692): negotiation tables, round trips, ws interop, bombs, bad data.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deflateRawSync } from "node:zlib";
import WS, { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { Connection } from "../src/protocol/connection.js";
import {
  acceptResponse, clientOffer, DeflateCodec, deflateForClient, deflateForServer, negotiateServer, type DeflateOptions,
} from "../src/protocol/extensions/permessage-deflate.js";
import { fflateEngine } from "../src/protocol/extensions/fflate-engine.js";
import { zlibEngine } from "../src/adapters/node/zlib-engine.js";
import { WebSocketServer, connect, type WebSocket } from "../src/node.js";
import { concat, frame, KEY } from "./helpers/frames.js";

const engines = { zlib: zlibEngine, fflate: fflateEngine };

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

  it("with fflate (inflate only), accepts any window: it never compresses", () => {
    expect(negotiateServer(["permessage-deflate; server_max_window_bits=10"], {}, fflateEngine)?.response).toBe("permessage-deflate; server_max_window_bits=10");
  });
});

describe("client negotiation (response check)", () => {
  it("offers client_max_window_bits where the engine can honour any value", () => {
    expect(clientOffer({}, zlibEngine)).toBe("permessage-deflate; client_max_window_bits");
    expect(clientOffer({}, fflateEngine)).toBe("permessage-deflate; client_max_window_bits");
    expect(clientOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }, zlibEngine)).toBe(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
    );
  });
  it("accepts valid responses", () => {
    expect(acceptResponse("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9", {}, zlibEngine)).toEqual({
      serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 9,
    });
    expect(acceptResponse("", {}, zlibEngine)).toBeUndefined();
  });
  it.each([
    ["an extension we did not offer", "x-foo"],
    ["two extensions", "permessage-deflate, permessage-deflate"],
    ["a duplicate parameter", "permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
    ["client_max_window_bits without a value", "permessage-deflate; client_max_window_bits"],
    ["an unknown parameter", "permessage-deflate; foo"],
    ["an out-of-range window", "permessage-deflate; server_max_window_bits=16"],
  ])("fails the connection on %s", (_n, response) => {
    expect(() => acceptResponse(response, {}, zlibEngine)).toThrow(/./);
  });
  it("fails when the server ignores what we asked for", () => {
    expect(() => acceptResponse("permessage-deflate", { serverNoContextTakeover: true }, zlibEngine)).toThrow(/server_no_context_takeover/);
    expect(() => acceptResponse("permessage-deflate; server_max_window_bits=12", { serverMaxWindowBits: 10 }, zlibEngine)).toThrow(/server_max_window_bits/);
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

describe.each(Object.keys(engines) as (keyof typeof engines)[])("round trips on %s", (name) => {
  const engine = engines[name];
  const combos: DeflateOptions[] = [
    {},
    { serverNoContextTakeover: true },
    { clientNoContextTakeover: true },
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    { serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
    { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
  ];
  it.each(combos)("both directions, sizes 0 B … 1 MiB (16 MiB with defaults), with %o", (opts) => {
    // The server compresses with zlib; the client under test uses `engine` (inflate-only fflate
    // then sends uncompressed, and inflates what zlib sent).
    const { client, server } = pair(opts, {}, zlibEngine, engine);
    expect(client.extensions).toContain("permessage-deflate");
    const text = "The quick brown fox 🦊 jumps over the lazy dog. ";
    // 16 MiB once per engine (defaults); the parameter variants stop at 1 MiB to keep the suite quick.
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
        // It really compressed (text and binary together), where the sender's engine compresses.
        if (n >= 70_000 && name === "zlib") expect(bytes.length).toBeLessThan(0.9 * (Buffer.byteLength(s) + bin.length));
      }
    }
  });

  it("sets RSV1 on a compressed message", () => {
    const { client, server } = pair({}, {}, zlibEngine, engine);
    const big = "abc".repeat(10_000);
    client.send(big);
    const out = concat(...client.takeOutgoing());
    expect(out[0]! & 0x40).toBe(name === "zlib" ? 0x40 : 0);
    server.receive(out);
    expect(server.takeEvents()).toEqual([{ type: "message", data: big, binary: false }]);
  });
});

describe("decompression safety", () => {
  function server(maxMessageSize: number) {
    const c = Connection.open("server", { maxMessageSize, codec: new DeflateCodec({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, "server", {}, zlibEngine) });
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

  describe.each(variants)("ws client → our server, %s", (_n, opts) => {
    let server: WebSocketServer;
    beforeAll(async () => {
      server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
      await new Promise((r) => server.once("listening", () => r(undefined)));
      server.on("connection", (ws: WebSocket) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    it("echoes compressed messages", async () => {
      const ws = new WS(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: { threshold: 0, ...opts } });
      await new Promise((r) => ws.once("open", r));
      expect(ws.extensions).toContain("permessage-deflate");
      for (const p of payloads) {
        ws.send(p);
        const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (...a: [Buffer]) => r(a)));
        expect(d.toString()).toBe(p);
      }
      ws.close();
    });
  });

  describe.each(variants)("our client → ws server, %s", (_n, opts) => {
    let server: WsServer;
    beforeAll(async () => {
      server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0, ...opts } });
      await new Promise((r) => server.once("listening", r));
      server.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    it("echoes compressed messages", async () => {
      const ws = connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: { threshold: 0, ...(opts as DeflateOptions) } });
      await new Promise((r) => ws.once("open", () => r(undefined)));
      expect(ws.extensions).toContain("permessage-deflate");
      for (const p of payloads) {
        ws.send(p);
        const [d] = await new Promise<[string | Buffer]>((r) => ws.once("message", (data) => r([data])));
        expect(d).toBe(p);
      }
      ws.close();
    });
  });
});
