// Transports that join chunks and consume them synchronously (Bun's): the connection then coalesces
// payloads and reuses its outgoing buffer, and partial writes must not see that buffer change.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Connection } from "../src/protocol/connection.js";
import { WebSocketConnection } from "../src/adapters/socket.js";
import { BunTransport } from "../src/adapters/bun/transport.js";
import { concat } from "./helpers/frames.js";

/** A Bun-like socket that takes at most `budget()` bytes per write and copies what it takes. */
function fakeSocket(budget: () => number) {
  const wire: Uint8Array[] = [];
  return {
    wire,
    socket: {
      data: {},
      // As Bun's socket.write(data, byteOffset, byteLength): the range, when given, is what is written.
      write(b: Uint8Array, offset = 0, length = b.length - offset) {
        const n = Math.min(budget(), length);
        wire.push(b.slice(offset, offset + n));
        return n;
      },
      end() {},
    },
  };
}

describe("a synchronous, joining transport (Bun)", () => {
  it("delivers every message intact through partial writes while the outgoing buffer is reused", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 100_000 })), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        (messages, budgets, perBatch, drains) => {
          let k = 0;
          let open = false;
          const { wire, socket } = fakeSocket(() => (open ? Infinity : budgets[k++ % budgets.length]!));
          const transport = new BunTransport(socket as never);
          const ws = new WebSocketConnection(Connection.open("server"), transport);
          // Send in batches (one flush each); sometimes Bun's 'drain' comes between them, sometimes
          // the application sends on into a backlog.
          for (let i = 0, b = 0; i < messages.length; i += perBatch, b++) {
            for (const m of messages.slice(i, i + perBatch)) ws.driver.send(m, { binary: typeof m !== "string" });
            ws.driver.pump();
            if (drains[b % drains.length]) transport.drain();
          }
          open = true; // let the rest out
          expect(transport.drain()).toBe(true);
          const client = Connection.open("client", { maxMessageSize: 1 << 24 });
          client.receive(concat(...wire));
          const got = client.takeEvents().filter((e) => e.type === "message") as { data: string | Uint8Array }[];
          expect(got.length).toBe(messages.length);
          got.forEach((e, i) => {
            const want = messages[i]!;
            if (typeof want === "string") expect(e.data).toBe(want);
            else expect(Buffer.compare(e.data as Uint8Array, want)).toBe(0);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
