// The browser API on Node (WebSocketClient) hands each binary message over in an ArrayBuffer of its
// own, made once (the connection builds it and the WHATWG layer passes it on): exact bytes, exactly
// the message's length, shared with no other message, whichever way the message arrived (one piece
// out of core memory, or assembled from many reads) and with or without permessage-deflate.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { WebSocketClient } from "../src/node.js";

const SIZES = [0, 1, 31, 32, 33, 4096, 8 * 1024 + 1, 70_000, 256 * 1024 + 7, 1 << 20, 3 << 20];
const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + seed * 7) & 0xff));

let server: WsServer;
let url: string;
beforeAll(async () => {
  // A ws server that sends every size once the client asks ("go").
  server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0 } });
  server.on("connection", (ws) =>
    ws.on("message", (m) => {
      const compress = String(m) === "go-deflate";
      SIZES.forEach((n, i) => ws.send(pattern(n, i), { binary: true, compress }));
    }),
  );
  await new Promise((r) => server.once("listening", r));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  for (const ws of server.clients) ws.terminate();
  await new Promise((r) => server.close(r));
});

async function receiveAll(ask: string, options: object): Promise<unknown[]> {
  const ws = new WebSocketClient(url, undefined, options);
  ws.binaryType = "arraybuffer";
  const got: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error("error"));
    ws.onopen = () => ws.send(ask);
    ws.onmessage = (e) => {
      got.push((e as MessageEvent).data);
      if (got.length === SIZES.length) resolve();
    };
  });
  ws.close();
  return got;
}

describe("WebSocketClient binary messages", () => {
  it.each([
    ["plain", "go", { perMessageDeflate: false }],
    ["permessage-deflate", "go-deflate", {}],
    ["the application's own createBinary", "go", { perMessageDeflate: false, createBinary: (s: Uint8Array, a: number, b: number) => s.slice(a, b) }],
  ])("%s: each an ArrayBuffer of its own, exact", async (_name, ask, options) => {
    const got = await receiveAll(ask, options);
    got.forEach((d, i) => {
      expect(d).toBeInstanceOf(ArrayBuffer);
      const b = d as ArrayBuffer;
      expect(b.byteLength).toBe(SIZES[i]);
      expect(Buffer.compare(Buffer.from(b), pattern(SIZES[i]!, i))).toBe(0);
    });
    // Writing into one changes no other.
    got.forEach((d) => new Uint8Array(d as ArrayBuffer).fill(0xee));
    got.forEach((d) => expect(new Uint8Array(d as ArrayBuffer).every((x) => x === 0xee)).toBe(true));
    expect(new Set(got).size).toBe(got.length);
  });
});
