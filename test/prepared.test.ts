// Messages framed once for many connections (publish/subscribe), in the sans-I/O layer: the bytes
// each connection queues are exactly what its own send() would queue, a codec without context is
// asked once for all connections that share its key, one with context compresses for itself, and
// a client (masking) or a fragmented send never gets the shared bytes.
import { describe, expect, it } from "vitest";
import { Connection } from "../src/protocol/connection.js";
import { PreparedMessage, frameBytes } from "../src/protocol/prepared.js";
import { DeflateCodec } from "../src/protocol/extensions/permessage-deflate.js";
import { pakoEngine } from "../src/protocol/extensions/pako-engine.js";
import type { MessageCodec } from "../src/protocol/extensions/codec.js";
import { constants, inflateRawSync } from "node:zlib";

const join = (chunks: Uint8Array[]) => Buffer.concat(chunks);
const serverWith = (codec?: MessageCodec) => {
  const c = Connection.open("server", { codec, extensions: codec ? "permessage-deflate" : "" });
  c.takeEvents();
  return c;
};
const params = (serverNoContextTakeover: boolean) => ({ serverNoContextTakeover, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });

describe("prepared messages", () => {
  it("frame the same bytes as send(), text and binary, at every length class", () => {
    for (const len of [0, 1, 125, 126, 65535, 65536, 70000]) {
      const data = new Uint8Array(len).map((_, i) => i * 7);
      const text = "é".repeat(Math.floor(len / 2));
      for (const [payload, binary] of [[data, true], [text, false]] as const) {
        const viaSend = serverWith();
        viaSend.send(payload);
        const viaPrepared = serverWith();
        expect(viaPrepared.sendPrepared(new PreparedMessage(payload, binary, true))).toBe(true);
        expect(join(viaPrepared.takeOutgoing())).toEqual(join(viaSend.takeOutgoing()));
      }
    }
  });

  it("build the plain frame once and hand every connection the same bytes", () => {
    const msg = new PreparedMessage(new Uint8Array(100_000), true, true);
    expect(msg.plainFrame()).toBe(msg.plainFrame());
    const conns = [serverWith(), serverWith(), serverWith()];
    for (const c of conns) c.sendPrepared(msg);
    // A large frame is queued as it is (never copied): the same buffer at every connection.
    const out = conns.map((c) => c.takeOutgoing());
    for (const chunks of out) expect(chunks).toContain(msg.plainFrame());
  });

  it("are not copied per connection beyond small frames, also where the transport joins chunks", () => {
    // A Node socket's transport joins chunks (coalesceOutgoing): a copy of every 4 KiB publish per
    // subscriber once filled a 64 KiB slab per subscriber per turn (1.5 GB at 10 000 subscribers).
    const msg = new PreparedMessage(new Uint8Array(4096), true, true);
    const small = new PreparedMessage(new Uint8Array(100), true, true);
    const c = serverWith();
    c.coalesceOutgoing();
    c.sendPrepared(msg);
    c.sendPrepared(small);
    const chunks = c.takeOutgoing();
    expect(chunks[0]).toBe(msg.plainFrame());
    expect(chunks.some((ch) => ch === small.plainFrame())).toBe(false); // small ones go into the slab
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat([msg.plainFrame(), small.plainFrame()]));
  });

  it("compress once for every codec without context takeover, and per connection with it", () => {
    const text = JSON.stringify({ price: 101.25, symbol: "ABC", note: "x".repeat(2000) });
    let shared = 0;
    let own = 0;
    const counting = (noContext: boolean) => {
      const codec = new DeflateCodec(params(noContext), "server", {}, pakoEngine);
      const encode = codec.encode.bind(codec);
      codec.encode = (d) => {
        if (noContext) shared++;
        else own++;
        return encode(d);
      };
      return codec;
    };
    const msg = new PreparedMessage(text, false, true);
    const sharing = [counting(true), counting(true), counting(true)].map(serverWith);
    const keeping = [counting(false), counting(false)].map(serverWith);
    for (const c of [...sharing, ...keeping]) expect(c.sendPrepared(msg)).toBe(true);
    expect(shared).toBe(1);
    expect(own).toBe(2);
    const frames = [...sharing, ...keeping].map((c) => join(c.takeOutgoing()));
    expect(frames[1]).toEqual(frames[0]);
    for (const f of frames) {
      expect(f[0]).toBe(0xc1); // FIN, RSV1, text
      const body = f.subarray(f[1]! === 126 ? 4 : 2);
      expect(inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()).toBe(text);
    }
  });

  it("stay uncompressed when the publisher says compress: false", () => {
    const c = serverWith(new DeflateCodec(params(true), "server", {}, pakoEngine));
    c.sendPrepared(new PreparedMessage("y".repeat(5000), false, false));
    expect(join(c.takeOutgoing())).toEqual(Buffer.from(frameBytes(1, false, new TextEncoder().encode("y".repeat(5000)))));
  });

  it("are masked per connection on a client, and refused in the middle of a fragmented message", () => {
    const client = Connection.open("client");
    const msg = new PreparedMessage(Uint8Array.of(1, 2, 3), true, true);
    client.sendPrepared(msg);
    const bytes = join(client.takeOutgoing());
    expect(bytes[1]! & 0x80).toBe(0x80); // masked
    const server = serverWith();
    server.sendFragment("ab", { fin: false });
    expect(server.sendPrepared(msg)).toBe(false);
    server.sendFragment("c", { fin: true });
    expect(server.sendPrepared(msg)).toBe(true);
  });

  it("are not sent once the connection is closing", () => {
    const c = serverWith();
    c.close();
    expect(c.sendPrepared(new PreparedMessage("late", false, true))).toBe(false);
  });
});
