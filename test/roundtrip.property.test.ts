// Encoder → decoder: any message sequence, any fragmentation, any chunking, comes out the same.
// And random garbage never crashes, hangs or loses messages already accepted.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Connection } from "../src/protocol/connection.js";
import { useBackend } from "../src/core/select.js";
import { cutAt, splits } from "./helpers/utf8-gen.js";
import { concat } from "./helpers/frames.js";

const message = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n).fill(n & 255)),
);

afterAll(() => void useBackend("wasm-simd"));

describe.each(["wasm-simd", "js"] as const)("round trip (%s core)", (backend) => {
  it.each(["client", "server"] as const)("%s → peer: messages survive fragmentation and chunking", (sender) => {
    useBackend(backend);
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }), fc.integer({ min: 1, max: 5000 }), (messages, fragmentSize, seed) => {
        const tx = Connection.open(sender, { fragmentSize });
        const rx = Connection.open(sender === "client" ? "server" : "client");
        rx.takeEvents();
        for (const m of messages) tx.send(m);
        if (messages.length) tx.ping(Uint8Array.of(seed & 255));
        const bytes = concat(...tx.takeOutgoing());
        const cuts = Array.from({ length: 5 }, (_, i) => ((seed * (i + 7) * 7919) % (bytes.length + 1))).sort((a, b) => a - b);
        for (const c of cutAt(bytes, cuts)) rx.receive(c);
        // Compared as strings (base64 for bytes): deep equality over large typed arrays is slow.
        const key = (d: string | Uint8Array) => (typeof d === "string" ? `t:${d}` : `b:${Buffer.from(d).toString("base64")}`);
        const got = rx.takeEvents().filter((e) => e.type === "message").map((e) => key((e as { data: string | Uint8Array }).data));
        expect(got).toEqual(messages.map(key));
      }),
      { numRuns: 150 },
    );
  });

  it.each(["client", "server"] as const)("%s: bytes put in the receive window come out as bytes handed to receive()", (role) => {
    useBackend(backend);
    // Two receivers of the same stream, one fed copies and one fed through the shared window,
    // called alternately: each call's window bytes are scanned before the other uses the core.
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 6 }), (messages, sizes) => {
        const tx = Connection.open(role === "server" ? "client" : "server", { fragmentSize: 40_000 });
        for (const m of messages) tx.send(m);
        tx.ping(Uint8Array.of(7));
        const bytes = concat(...tx.takeOutgoing());
        const viaCopy = Connection.open(role);
        const viaWindow = Connection.open(role);
        const window = viaWindow.receiveWindow();
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, window.length, bytes.length - at);
          viaCopy.receive(bytes.subarray(at, at + n));
          window.set(bytes.subarray(at, at + n));
          viaWindow.receiveFromWindow(n);
          at += n;
        }
        const key = (e: { type: string; data?: string | Uint8Array }) =>
          `${e.type}:${e.data === undefined ? "" : typeof e.data === "string" ? `t:${e.data}` : `b:${Buffer.from(e.data).toString("base64")}`}`;
        const fromWindow = viaWindow.takeEvents().map(key);
        expect(fromWindow).toEqual(viaCopy.takeEvents().map(key));
        expect(fromWindow.filter((k) => k.startsWith("message:")).length).toBe(messages.length);
      }),
      { numRuns: 60 },
    );
  });

  it("random bytes after valid messages: no throw, earlier messages kept, bounded outcome", () => {
    useBackend(backend);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), splits(3000), (garbage, cuts) => {
        const tx = Connection.open("client");
        tx.send("kept");
        const rx = Connection.open("server");
        rx.takeEvents();
        rx.receive(concat(...tx.takeOutgoing()));
        for (const c of cutAt(garbage, cuts.filter((c) => c <= garbage.length))) rx.receive(c);
        const events = rx.takeEvents();
        expect(events[0]).toEqual({ type: "message", data: "kept", binary: false });
        rx.takeOutgoing();
        rx.transportClosed();
        expect(rx.takeEvents().at(-1)).toMatchObject({ type: "close" });
      }),
      { numRuns: 500 },
    );
  });
});
