// A client keeps reading while its own sends wait (Transport.readsWhileCongested): over TCP here;
// over HTTP/2 streams in http2-client.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { connect, WebSocketServer, type WebSocket } from "../src/node.js";

let servers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => ws.once("close", () => resolve()));
}

async function echoes(ws: WebSocket, payloads: Buffer[]): Promise<void> {
  const got: Buffer[] = [];
  const all = new Promise<void>((resolve, reject) => {
    ws.on("message", (data) => {
      if (got.push(data as Buffer) === payloads.length) resolve();
    });
    ws.once("close", (code) => reject(new Error(`closed ${code} after ${got.length} of ${payloads.length}`)));
  });
  for (const p of payloads) ws.send(p);
  await all;
  expect(payloads.findIndex((p, i) => !p.equals(got[i]!))).toBe(-1);
}

describe("client backpressure (any transport)", () => {
  it("a client keeps reading while its own sends wait: 48 x 1 MiB pipelined to our own server over TCP all come back (it deadlocked: both ends stopped reading)", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    servers.push({ close: () => new Promise<void>((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => r()))) });
    wss.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    const ws = connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
    await new Promise<void>((r) => ws.once("open", () => r()));
    await echoes(ws, Array.from({ length: 48 }, (_, i) => Buffer.alloc(1 << 20, i)));
    ws.close();
    await closed(ws);
  });
});
