// Node sockets read straight into core memory (src/adapters/node/direct-reads.ts): which sockets do,
// and that frames arriving in arbitrary pieces over many connections at once, all sharing one
// input window, come out exactly as sent, with backpressure (pause/resume) still working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import * as http from "node:http";
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import type { AddressInfo } from "node:net";
import { WebSocketServer, connect, mask, isValidUtf8, type WebSocket } from "../src/node.js";
import { directReads } from "../src/adapters/node/direct-reads.js";
import { frame, KEY } from "./helpers/frames.js";
import { closeServer } from "./helpers/servers.js";

const REQUEST = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

const listening = (s: { once(e: "listening", f: () => void): unknown }) => new Promise<void>((r) => s.once("listening", () => r()));
const opened = (ws: WebSocket) => new Promise<void>((r) => ws.once("open", () => r()));
const directOf = (ws: WebSocket) => ws.driver!.directReads;

/** Reassembles the unmasked frames a server sends: [opcode, payload] per message (pongs included). */
function parseServerFrames(bytes: Buffer): { messages: [number, Buffer][]; rest: number } {
  const messages: [number, Buffer][] = [];
  let at = 0;
  let parts: Buffer[] = [];
  let opcode = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const b0 = bytes[at]!, b1 = bytes[at + 1]!;
    let len = b1 & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (bytes.length - at < 4) break;
      len = bytes.readUInt16BE(at + 2);
      p = at + 4;
    } else if (len === 127) {
      if (bytes.length - at < 10) break;
      len = Number(bytes.readBigUInt64BE(at + 2));
      p = at + 10;
    }
    if (bytes.length < p + len) break;
    const op = b0 & 0x0f;
    const payload = bytes.subarray(p, p + len);
    at = p + len;
    if (op >= 8) {
      messages.push([op, payload]);
      continue;
    }
    if (op !== 0) opcode = op;
    parts.push(payload);
    if (b0 & 0x80) {
      messages.push([opcode, Buffer.concat(parts)]);
      parts = [];
    }
  }
  return { messages, rest: at };
}

describe("direct reads into core memory", () => {
  let server: WebSocketServer;
  let port: number;
  const serverSockets: WebSocket[] = [];
  const received = new Map<WebSocket, number>();
  const big = new Uint8Array(300 * 1024).fill(0x61);

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", maxMessageSize: 4 << 20 });
    await listening(server);
    port = (server.address() as AddressInfo).port;
    server.on("connection", (ws: WebSocket) => {
      serverSockets.push(ws);
      ws.on("message", (data, isBinary) => {
        received.set(ws, (received.get(ws) ?? 0) + 1);
        // The application may use the core between reads (it shares the input window's memory).
        if ((data as Buffer).length > 1024) {
          mask(new Uint8Array(big), KEY);
          expect(isValidUtf8(big)).toBe(true);
        }
        ws.send(data, { binary: isBinary });
      });
    });
  });
  afterAll(() => closeServer(server));

  it("are used by accepted sockets, client sockets and HTTP-upgraded sockets; not over TLS", async () => {
    const client = connect(`ws://127.0.0.1:${port}`);
    await opened(client);
    const accepted = serverSockets.at(-1)!;
    expect(directOf(accepted)).toBe(true);
    expect(directOf(client)).toBe(true);
    client.send(Buffer.alloc(70_000, 7));
    const [echo] = await new Promise<[Buffer]>((r) => client.once("message", (d) => r([d as Buffer])));
    expect(echo.equals(Buffer.alloc(70_000, 7))).toBe(true);
    client.close();

    const httpServer = http.createServer();
    const viaHttp = new WebSocketServer({ server: httpServer });
    const upgraded = new Promise<WebSocket>((r) => viaHttp.on("connection", (ws: WebSocket) => r(ws)));
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
    const c2 = connect(`ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`);
    const ws2 = await upgraded;
    await opened(c2);
    expect(directOf(ws2)).toBe(true);
    c2.close();
    await new Promise((r) => c2.once("close", r));
    httpServer.close();

    const fixture = (f: string) => readFileSync(join(import.meta.dirname, "fixtures", f));
    const tlsServer = new WebSocketServer({ port: 0, host: "127.0.0.1", tls: { cert: fixture("test-cert.pem"), key: fixture("test-key.pem") } });
    await listening(tlsServer);
    const tlsAccepted = new Promise<WebSocket>((r) => tlsServer.on("connection", (ws: WebSocket) => r(ws)));
    const c3 = connect(`wss://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`, { tls: { ca: fixture("test-cert.pem") } });
    await opened(c3);
    expect(directOf(await tlsAccepted)).toBe(false);
    expect(directOf(c3)).toBe(false);
    c3.close();
    await new Promise<void>((r) => tlsServer.close(() => r()));
  });

  it("can be turned off (the 'data' path stays available)", async () => {
    directReads.enabled = false;
    try {
      const client = connect(`ws://127.0.0.1:${port}`);
      await opened(client);
      expect(directOf(client)).toBe(false);
      expect(directOf(serverSockets.at(-1)!)).toBe(false);
      client.send("still echoed");
      const [echo] = await new Promise<[unknown]>((r) => client.once("message", (d) => r([d])));
      expect(String(echo)).toBe("still echoed");
      client.close();
    } finally {
      directReads.enabled = true;
    }
  });

  // Each connection's bytes cut at arbitrary points and written interleaved with the others', so
  // reads of different sockets alternate in the one window and headers split across reads.
  const message = fc.record({
    binary: fc.boolean(),
    size: fc.oneof(fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 262_144, 262_400), fc.integer({ min: 0, max: 300_000 })),
    fragments: fc.integer({ min: 1, max: 3 }),
    pingFirst: fc.boolean(),
  });
  const connection = fc.record({ messages: fc.array(message, { minLength: 1, maxLength: 5 }), cuts: fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 12 }) });

  it("deliver every message exactly, whatever the pieces and however connections interleave", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(connection, { minLength: 2, maxLength: 4 }), fc.integer(), async (conns, seed) => {
        const socks = await Promise.all(
          conns.map(
            () =>
              new Promise<{ sock: net.Socket; got: Buffer[] }>((resolve) => {
                const sock = net.connect(port, "127.0.0.1");
                const got: Buffer[] = [];
                sock.on("data", (d) => got.push(d));
                sock.write(REQUEST);
                const wait = () => (Buffer.concat(got).includes("\r\n\r\n") ? resolve({ sock, got }) : sock.once("data", wait));
                sock.once("data", wait);
              }),
          ),
        );
        const streams = conns.map((c, ci) => {
          const parts: Uint8Array[] = [];
          const expected: [number, Buffer][] = [];
          c.messages.forEach((m, mi) => {
            const body = Buffer.alloc(m.size);
            for (let i = 0; i < m.size; i++) body[i] = m.binary ? (i * 31 + seed + ci + mi) & 0xff : 0x41 + ((i + mi) % 26);
            if (m.pingFirst) {
              parts.push(frame({ opcode: 9, payload: `p${mi}`, key: KEY }));
              expected.push([10, Buffer.from(`p${mi}`)]);
            }
            const step = Math.ceil(m.size / m.fragments) || 1;
            for (let f = 0; f < m.fragments; f++) {
              const piece = body.subarray(f * step, Math.min(m.size, (f + 1) * step));
              parts.push(frame({ opcode: f === 0 ? (m.binary ? 2 : 1) : 0, fin: f === m.fragments - 1, payload: piece, key: KEY }));
            }
            expected.push([m.binary ? 2 : 1, body]);
          });
          return { bytes: Buffer.concat(parts), expected, cuts: c.cuts, at: 0 };
        });
        // Round robin over the connections, one cut at a time, yielding to the event loop between.
        for (let round = 0; streams.some((s) => s.at < s.bytes.length); round++) {
          streams.forEach((s, i) => {
            if (s.at >= s.bytes.length) return;
            const n = s.cuts[round % s.cuts.length]!;
            socks[i]!.sock.write(s.bytes.subarray(s.at, s.at + n));
            s.at += n;
          });
          await tick();
        }
        await Promise.all(
          streams.map(
            (s, i) =>
              new Promise<void>((resolve, reject) => {
                const check = () => {
                  const all = Buffer.concat(socks[i]!.got);
                  const head = all.indexOf("\r\n\r\n") + 4;
                  const { messages } = parseServerFrames(all.subarray(head));
                  if (messages.length < s.expected.length) return void socks[i]!.sock.once("data", check);
                  try {
                    // Data in order, pongs in order (an automatic pong may overtake the reply the
                    // application sends to a message that arrived in the same read: RFC-allowed).
                    for (const pongs of [false, true]) {
                      const mine = messages.filter(([op]) => (op === 10) === pongs);
                      const want = s.expected.filter(([op]) => (op === 10) === pongs);
                      expect(mine.map(([op, p]) => [op, p.length])).toEqual(want.map(([op, p]) => [op, p.length]));
                      mine.forEach(([, p], k) => expect(p.equals(want[k]![1])).toBe(true));
                    }
                    resolve();
                  } catch (e) {
                    reject(e);
                  }
                };
                check();
              }),
          ),
        );
        for (const { sock } of socks) sock.destroy();
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  it("still pause reading while a peer does not read the replies, and resume when it does", async () => {
    const sock = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    sock.write(REQUEST);
    await new Promise((r) => sock.once("data", (d) => r(got.push(d))));
    sock.pause(); // read none of the echoes for now
    const accepted = serverSockets.at(-1)!;
    expect(directOf(accepted)).toBe(true);
    const payload = Buffer.alloc(64 * 1024, 0x5a);
    const count = 160; // 10 MiB each way: more than the kernel buffers hold, so the server must wait
    for (let i = 0; i < count; i++) sock.write(frame({ opcode: 2, payload, key: KEY }));
    await new Promise((r) => setTimeout(r, 300));
    // The server stopped reading: its socket is paused with replies queued, and no more arrives.
    expect(accepted.socket!.isPaused()).toBe(true);
    expect(accepted.socket!.writableLength).toBeGreaterThan(0);
    const seen = received.get(accepted)!;
    await new Promise((r) => setTimeout(r, 200));
    expect(received.get(accepted)).toBe(seen);
    expect(seen).toBeLessThan(count);
    sock.on("data", (d) => got.push(d));
    sock.resume();
    await new Promise<void>((resolve) => {
      const check = () => {
        const all = Buffer.concat(got);
        const { messages } = parseServerFrames(all.subarray(all.indexOf("\r\n\r\n") + 4));
        if (messages.length < count) return void sock.once("data", check);
        expect(messages.every(([op, p]) => op === 2 && p.equals(payload))).toBe(true);
        resolve();
      };
      check();
    });
    sock.destroy();
  }, 30_000);
});
