// The sans-I/O state machine, table-driven by RFC 6455 section, both roles, both cores.
import { afterAll, describe, expect, it } from "vitest";
import { Connection, type ConnectionOptions } from "../src/protocol/connection.js";
import type { ConnectionEvent } from "../src/protocol/events.js";
import { useBackend } from "../src/core/select.js";
import { bufferHost } from "../src/adapters/buffer-host.js";
import { concat, frame, KEY } from "./helpers/frames.js";

/** A manual clock for timeouts. */
class FakeClock {
  t = 1_000_000;
  now = () => this.t;
}

function opened(role: "server" | "client", options: ConnectionOptions = {}) {
  return Connection.open(role, options);
}

/** Frames as the peer of `role` would send them (masked toward a server). */
function peer(role: "server" | "client") {
  return (spec: Parameters<typeof frame>[0]) => frame({ ...spec, key: role === "server" ? KEY : undefined });
}

function feed(c: Connection, bytes: Uint8Array, byteAtATime = false): ConnectionEvent[] {
  if (byteAtATime) for (const b of bytes) c.receive(Uint8Array.of(b));
  else c.receive(bytes);
  return c.takeEvents().filter((e) => e.type !== "open");
}

/** Parses our own outgoing frames (unmasking client frames) into [opcode, payload bytes]. */
function sent(c: Connection): [number, number[]][] {
  const bytes = concat(...c.takeOutgoing());
  const out: [number, number[]][] = [];
  for (let i = 0; i < bytes.length; ) {
    const op = bytes[i]! & 15;
    let len = bytes[i + 1]! & 127;
    const masked = (bytes[i + 1]! & 128) !== 0;
    i += 2;
    if (len === 126) { len = (bytes[i]! << 8) | bytes[i + 1]!; i += 2; }
    else if (len === 127) { len = Number(new DataView(bytes.buffer, bytes.byteOffset + i).getBigUint64(0)); i += 8; }
    const key = masked ? bytes.subarray(i, i + 4) : undefined;
    if (masked) i += 4;
    out.push([op, Array.from(bytes.subarray(i, i + len), (b, j) => b ^ (key ? key[j & 3]! : 0))]);
    i += len;
  }
  return out;
}

const closePayload = (code: number, reason = "") => concat(Uint8Array.of(code >> 8, code & 255), new TextEncoder().encode(reason));

afterAll(() => void useBackend("wasm-simd"));

describe.each(["wasm-simd", "js"] as const)("Connection (%s core)", (backend) => {
  useBackend(backend);
  describe.each(["server", "client"] as const)("as %s", (role) => {
    const f = peer(role);

    it("§5.6 delivers text and binary messages, whole and fed byte by byte alike", () => {
      const input = concat(f({ opcode: 1, payload: "héllo 𝄞" }), f({ opcode: 2, payload: Uint8Array.of(0, 1, 255) }), f({ opcode: 1, payload: "" }));
      const expected = [
        { type: "message", data: "héllo 𝄞", binary: false },
        { type: "message", data: Uint8Array.of(0, 1, 255), binary: true },
        { type: "message", data: "", binary: false },
      ];
      useBackend(backend);
      expect(feed(opened(role), input)).toEqual(expected);
      expect(feed(opened(role), input, true)).toEqual(expected);
    });

    it("§5.4 assembles fragments, with control frames interleaved", () => {
      useBackend(backend);
      const c = opened(role);
      const ev = feed(c, concat(f({ opcode: 1, fin: false, payload: "frag" }), f({ opcode: 9, payload: "p" }), f({ opcode: 0, fin: false, payload: "men" }), f({ opcode: 0, payload: "ted" })));
      expect(ev).toEqual([{ type: "ping", data: new TextEncoder().encode("p") }, { type: "message", data: "fragmented", binary: false }]);
      expect(sent(c)).toEqual([[10, [112]]]); // auto-pong with the ping's payload
    });

    it("keeps a BOM at the start of a text message", () => {
      useBackend(backend);
      expect(feed(opened(role), f({ opcode: 1, payload: "\ufeffx" }))).toEqual([{ type: "message", data: "\ufeffx", binary: false }]);
    });

    it("§5.5.2 answers pings automatically unless autoPong is off", () => {
      useBackend(backend);
      const c = opened(role, { autoPong: false });
      expect(feed(c, f({ opcode: 9, payload: "x" }))).toEqual([{ type: "ping", data: Uint8Array.of(120) }]);
      expect(sent(c)).toEqual([]);
    });

    const failures: [string, number, Uint8Array][] = [
      ["reserved opcode", 1002, f({ opcode: 3 })],
      ["RSV bit", 1002, f({ opcode: 1, rsv: 4 })],
      ["invalid UTF-8", 1007, f({ opcode: 1, payload: Uint8Array.of(0xc0, 0xaf) })],
      ["1-byte close payload", 1002, f({ opcode: 8, payload: Uint8Array.of(3) })],
      ["close code 1005 on the wire", 1002, f({ opcode: 8, payload: closePayload(1005) })],
      ["close code 999", 1002, f({ opcode: 8, payload: closePayload(999) })],
      ["close code 2000 (reserved)", 1002, f({ opcode: 8, payload: closePayload(2000) })],
      ["close reason not UTF-8", 1007, f({ opcode: 8, payload: concat(closePayload(1000), Uint8Array.of(0xff)) })],
      ["frame over maxFrameSize", 1009, f({ opcode: 2, payload: new Uint8Array(2000) })],
    ];
    it.each(failures)("§7.1.7 fails the connection on %s with close code %i", (_n, code, bytes) => {
      useBackend(backend);
      const c = opened(role, { maxFrameSize: 1000 });
      const ev = feed(c, concat(f({ opcode: 1, payload: "before" }), bytes, f({ opcode: 1, payload: "after" })));
      expect(ev[0]).toEqual({ type: "message", data: "before", binary: false });
      expect(ev[1]).toMatchObject({ type: "error", error: { closeCode: code } });
      expect(ev).toHaveLength(2);
      // The reply to "before" still goes out, ahead of the close frame.
      c.send("reply");
      const out = sent(c);
      expect(out[0]![0]).toBe(1);
      expect(out[1]).toEqual([8, [code >> 8, code & 255]]);
      expect(c.transportShouldClose).toBe(true);
      expect(c.send("late")).toBe(false);
    });

    it("§7.1.3 echoes the peer's close code and closes in the right order", () => {
      useBackend(backend);
      const c = opened(role);
      const ev = feed(c, f({ opcode: 8, payload: closePayload(4000, "bye") }));
      expect(ev).toEqual([{ type: "closing", code: 4000, reason: "bye" }]);
      // The peer's code and reason come back (as ws does).
      expect(sent(c)).toEqual([[8, [0x0f, 0xa0, ...new TextEncoder().encode("bye")]]]);
      // Both close frames exchanged: the server closes TCP, and a client ends its side too (as ws
      // does; it then waits for the server's FIN within the driver's linger time).
      expect(c.transportShouldClose).toBe(true);
      c.transportClosed();
      expect(c.takeEvents()).toEqual([{ type: "close", code: 4000, reason: "bye", wasClean: true }]);
      expect(c.state).toBe("closed");
    });

    it("§7.1.2 our close: waits for the peer's, then reports a clean close", () => {
      useBackend(backend);
      const c = opened(role);
      c.close(1000, "done");
      expect(sent(c)).toEqual([[8, [3, 232, ...new TextEncoder().encode("done")]]]);
      expect(c.state).toBe("closing");
      expect(c.send("x")).toBe(false);
      feed(c, f({ opcode: 8, payload: closePayload(1001, "bye") }));
      expect(sent(c)).toEqual([]); // no second close frame
      c.transportClosed();
      // §7.1.5: the close code (and reason) reported are those of the close frame received.
      expect(c.takeEvents()).toEqual([{ type: "close", code: 1001, reason: "bye", wasClean: true }]);
    });

    it("close(1005) sends a close frame without a status (as ws's close() with no code)", () => {
      useBackend(backend);
      const c = opened(role);
      c.close(1005, "ignored");
      expect(sent(c)).toEqual([[8, []]]);
      feed(c, f({ opcode: 8 }));
      c.transportClosed();
      expect(c.takeEvents().at(-1)).toEqual({ type: "close", code: 1005, reason: "", wasClean: true });
    });

    it("answers a close without a status code with an empty close", () => {
      useBackend(backend);
      const c = opened(role);
      expect(feed(c, f({ opcode: 8 }))).toEqual([{ type: "closing", code: 1005, reason: "" }]);
      expect(sent(c)).toEqual([[8, []]]);
    });

    it("reports 1006 when the transport drops without a close frame", () => {
      useBackend(backend);
      const c = opened(role);
      c.takeEvents();
      c.transportClosed();
      expect(c.takeEvents()).toEqual([{ type: "close", code: 1006, reason: "", wasClean: false }]);
    });

    it("rejects invalid close codes and over-long reasons from the application", () => {
      useBackend(backend);
      const c = opened(role);
      expect(() => c.close(1006)).toThrow(RangeError);
      expect(() => c.close(1015)).toThrow(RangeError);
      expect(() => c.close(2999)).toThrow(RangeError);
      expect(() => c.close(1000, "x".repeat(124))).toThrow(RangeError);
      expect(() => c.ping(new Uint8Array(126))).toThrow(RangeError);
    });

    it("times out a close handshake the peer never answers", () => {
      useBackend(backend);
      const clock = new FakeClock();
      const c = opened(role, { clock, closeTimeout: 1000 });
      c.close();
      c.takeOutgoing();
      expect(c.nextDeadline()).toBe(1000); // a delay, in ms
      clock.t += 999;
      c.tick();
      expect(c.transportShouldClose).toBe(false);
      clock.t += 1;
      c.tick();
      expect(c.transportShouldClose).toBe(true);
    });

    it("sends keepalive pings and fails when no pong comes back", () => {
      useBackend(backend);
      const clock = new FakeClock();
      const c = opened(role, { clock, pingInterval: 100, pongTimeout: 50 });
      expect(c.nextDeadline()).toBe(100);
      clock.t += 30;
      expect(c.nextDeadline()).toBe(70);
      clock.t -= 30;
      clock.t += 100;
      c.tick();
      expect(sent(c)).toEqual([[9, []]]);
      feed(c, f({ opcode: 10 })); // the pong resets the timer
      clock.t += 60;
      c.tick();
      expect(c.transportShouldClose).toBe(false);
      clock.t += 40;
      c.tick();
      expect(sent(c)).toEqual([[9, []]]);
      clock.t += 50;
      c.tick();
      expect(c.takeEvents()).toMatchObject([{ type: "error", error: { code: "WS_ERR_PONG_TIMEOUT" } }]);
      expect(c.transportShouldClose).toBe(true);
    });

    it("has no deadlines without a clock until one is given, then counts from then", () => {
      useBackend(backend);
      const c = opened(role, { closeTimeout: 1000, idleTimeout: 500 });
      expect(c.nextDeadline()).toBeUndefined();
      c.tick(); // nothing is due without a clock
      expect(c.takeOutgoing()).toEqual([]);
      const clock = new FakeClock();
      clock.t = 5000;
      c.useClock(clock);
      expect(c.nextDeadline()).toBe(500);
      c.useClock(new FakeClock()); // the first clock stays
      clock.t += 500;
      c.tick();
      expect(sent(c)[0]![0]).toBe(8);
      expect(c.closeCode).toBe(1001);
      expect(c.nextDeadline()).toBe(1000);
    });

    it("closes with 1001 after the idle timeout", () => {
      useBackend(backend);
      const clock = new FakeClock();
      const c = opened(role, { clock, idleTimeout: 500 });
      clock.t += 500;
      c.tick();
      expect(sent(c)[0]![0]).toBe(8);
      expect(c.closeCode).toBe(1001);
    });

    it("delivers fragments as they arrive in fragments mode", () => {
      useBackend(backend);
      const c = opened(role, { fragments: true });
      const ev = feed(c, concat(f({ opcode: 2, fin: false, payload: Uint8Array.of(1) }), f({ opcode: 0, payload: Uint8Array.of(2) })));
      expect(ev).toEqual([
        { type: "fragment", data: Uint8Array.of(1), binary: true, first: true, last: false },
        { type: "fragment", data: Uint8Array.of(2), binary: true, first: false, last: true },
      ]);
    });

    it("enforces maxFragments", () => {
      useBackend(backend);
      const c = opened(role, { maxFragments: 3 });
      const frags = [f({ opcode: 1, fin: false, payload: "a" }), f({ opcode: 0, fin: false, payload: "b" }), f({ opcode: 0, fin: false, payload: "c" }), f({ opcode: 0, payload: "d" })];
      expect(feed(c, concat(...frags))).toMatchObject([{ type: "error", error: { closeCode: 1009 } }]);
    });

    it("splits outgoing messages with fragmentSize", () => {
      useBackend(backend);
      const c = opened(role, { fragmentSize: 4 });
      c.send("abcdefghij");
      expect(sent(c).map(([op, d]) => [op, d.length])).toEqual([[1, 4], [0, 4], [0, 2]]);
    });

    it("sends a message in fragments with control frames in between", () => {
      useBackend(backend);
      const c = opened(role);
      c.sendFragment("ab", { fin: false });
      c.ping("p");
      c.sendFragment("cd", { fin: true });
      expect(sent(c)).toEqual([[1, [97, 98]], [9, [112]], [0, [99, 100]]]);
    });

    it("decodes short ASCII texts of one read apart, with the Buffer text codec, over several scan passes", () => {
      // Short ASCII texts of one scan pass are decoded together and cut apart (inbound.ts, SPAN_MAX):
      // 3 000 messages in one read fill the scanner's table (1 024 pieces) twice, so the bytes of a
      // later pass are unmasked only after the earlier pass was delivered; among them other frames.
      useBackend(backend);
      const c = opened(role, { ...bufferHost });
      const p = peer(role);
      const want: (string | number[])[] = [];
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 3000; i++) {
        const text = i % 7 === 3 ? "" : `m${i}-${"abcdefghij".repeat(i % 13)}`;
        parts.push(p({ opcode: 1, payload: text }));
        want.push(text);
        if (i % 50 === 10) parts.push(p({ opcode: 9, payload: "p" })); // a ping between: not a message
        if (i % 100 === 20) { parts.push(p({ opcode: 2, payload: Uint8Array.of(200, i & 255) })); want.push([200, i & 255]); }
        if (i % 100 === 40) { parts.push(p({ opcode: 1, payload: `é${i}` })); want.push(`é${i}`); }
        if (i % 500 === 60) { parts.push(p({ opcode: 1, payload: "x".repeat(2000) })); want.push("x".repeat(2000)); }
      }
      const got = feed(c, concat(...parts)).filter((e) => e.type === "message");
      expect(got.map((e) => (e.binary ? Array.from(e.data as Uint8Array) : e.data))).toEqual(want);
    });

    it("encodes every payload length form", () => {
      useBackend(backend);
      for (const n of [0, 125, 126, 65535, 65536, 200_000]) {
        const c = opened(role);
        const data = new Uint8Array(n).map((_, i) => i);
        c.send(data);
        const [[op, got]] = sent(c) as [[number, number[]]];
        expect(op).toBe(2);
        expect(got.length).toBe(n);
        expect(Uint8Array.from(got)).toEqual(data);
      }
    });
  });
});

// Connections of one options object share the receiving halves they are not using (issue 19: an idle
// connection holds none, it borrows one per read): what one has under way stays its own.
describe.each(["wasm-simd", "js"] as const)("connections sharing options (%s core)", (backend) => {
  describe.each(["server", "client"] as const)("as %s", (role) => {
    const f = peer(role);
    it("each keeps its own message, frame and leftover bytes under way, and its stop, reads interleaved byte by byte", () => {
      useBackend(backend);
      const options: ConnectionOptions = {};
      const conns = [0, 1, 2].map(() => Connection.open(role, options));
      for (const c of conns) c.takeEvents();
      const inputs = [
        concat(f({ opcode: 1, payload: "ab", fin: false }), f({ opcode: 9, payload: "p" }), f({ opcode: 0, payload: "cd" }), f({ opcode: 2, payload: new Uint8Array(300).fill(7) })),
        concat(f({ opcode: 2, payload: Uint8Array.of(1, 2), fin: false }), f({ opcode: 0, payload: "é", fin: false }), f({ opcode: 0, payload: Uint8Array.of(3) }), f({ opcode: 1, payload: "x".repeat(130) })),
        concat(f({ opcode: 1, payload: "one" }), f({ opcode: 8, payload: closePayload(1000) }), f({ opcode: 1, payload: "after the close" })),
      ];
      const got: ConnectionEvent[][] = [[], [], []];
      const longest = Math.max(...inputs.map((b) => b.length));
      for (let i = 0; i < longest; i++) {
        for (let k = 0; k < 3; k++) {
          if (i < inputs[k]!.length) conns[k]!.receive(inputs[k]!.subarray(i, i + 1));
          got[k]!.push(...conns[k]!.takeEvents());
        }
      }
      const shape = (e: ConnectionEvent) => ("data" in e ? [e.type, typeof e.data === "string" ? e.data : Array.from(e.data as Uint8Array).join(",")] : [e.type]);
      expect(got[0]!.map(shape)).toEqual([["ping", "112"], ["message", "abcd"], ["message", new Array(300).fill(7).join(",")]]);
      expect(got[1]!.map(shape)).toEqual([["message", [1, 2, 0xc3, 0xa9, 3].join(",")], ["message", "x".repeat(130)]]);
      expect(got[2]!.map(shape)).toEqual([["message", "one"], ["closing"]]);
      // A connection opened after them reads from a clean start.
      const d = Connection.open(role, options);
      expect(feed(d, concat(f({ opcode: 1, payload: "fresh" }), f({ opcode: 1, payload: "two", fin: false })))).toMatchObject([{ type: "message", data: "fresh" }]);
      expect(feed(conns[0]!, f({ opcode: 1, payload: "next" }))).toMatchObject([{ type: "message", data: "next" }]);
      expect(feed(d, f({ opcode: 0, payload: "!" }))).toMatchObject([{ type: "message", data: "two!" }]);
      // One of other options reads by its own (fragments as they come), and they by theirs.
      const e = Connection.open(role, { fragments: true });
      e.takeEvents();
      expect(feed(e, f({ opcode: 1, payload: "own settings" })).map((x) => x.type)).toEqual(["fragment"]);
      expect(feed(conns[0]!, f({ opcode: 1, payload: "again" }))).toMatchObject([{ type: "message", data: "again" }]);
      expect(feed(e, f({ opcode: 1, payload: "and again" })).map((x) => x.type)).toEqual(["fragment"]);
    });
  });
});
