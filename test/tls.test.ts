// wss:// over node:tls, both ways, with a self-signed test certificate (test/fixtures, CN=localhost,
// for tests only).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import net from "node:net";
import { readSlowly } from "./helpers/frames.js";
import WS from "ws";
import { WebSocketServer, connect, type WebSocket } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";

const fixture = (f: string) => readFileSync(join(import.meta.dirname, "fixtures", f));
const cert = fixture("test-cert.pem");
const key = fixture("test-key.pem");

describe("wss://", () => {
  let server: WebSocketServer;
  let url: string;
  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", tls: { cert, key } });
    await new Promise((r) => server.once("listening", () => r(undefined)));
    url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on("connection", (ws: WebSocket) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
  });
  afterAll(() => closeServer(server));

  it("our server serves ws's client over TLS", async () => {
    const ws = new WS(url, { ca: cert });
    await new Promise((r) => ws.once("open", r));
    ws.send("secure");
    const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (...a: [Buffer]) => r(a)));
    expect(d.toString()).toBe("secure");
    ws.close();
  });

  it("our client verifies the certificate and talks over TLS", async () => {
    const ws = connect(url, { tls: { ca: cert } });
    await new Promise((r) => ws.once("open", () => r(undefined)));
    ws.send(Buffer.alloc(100_000, 1));
    const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (data) => r([data as Buffer])));
    expect(d.length).toBe(100_000);
    ws.close();
  });

  it("our client refuses an untrusted certificate", async () => {
    const ws = connect(url);
    const [code] = await new Promise<[number]>((r) => ws.once("close", (c) => r([c])));
    expect(code).toBe(1006);
  });
});

// The own listener's `tls` (ours: ws has no own TLS listener) kept a TCP peer that never sent a
// ClientHello, or half of one, until Node's TLS handshakeTimeout (120 s): handshakeTimeout bounds it.
describe("wss:// on the own listener: a peer that never completes the TLS handshake", () => {
  it("is cut at handshakeTimeout (1 s), silent or after half a ClientHello; tls.handshakeTimeout still wins", async () => {
    const servers = [new WebSocketServer({ port: 0, host: "127.0.0.1", tls: { cert, key }, handshakeTimeout: 1000 }), new WebSocketServer({ port: 0, host: "127.0.0.1", tls: { cert, key, handshakeTimeout: 2500 }, handshakeTimeout: 1000 })];
    try {
      await Promise.all(servers.map((s) => new Promise((r) => s.once("listening", () => r(undefined)))));
      const peer = (server: WebSocketServer, bytes: Buffer) =>
        new Promise<number | string>((resolve) => {
          const t0 = Date.now();
          const s = net.connect((server.address() as AddressInfo).port, "127.0.0.1", () => bytes.length && s.write(bytes));
          s.on("error", () => {});
          const timer = setTimeout(() => (s.destroy(), resolve("open after 5 s")), 5000);
          s.on("close", () => (clearTimeout(timer), resolve(Date.now() - t0)));
        });
      // A TLS record header announcing a 512-byte ClientHello, and 4 bytes of it.
      const half = Buffer.from("160301020001000200", "hex");
      const [silent, partial, own] = await Promise.all([peer(servers[0]!, Buffer.alloc(0)), peer(servers[0]!, half), peer(servers[1]!, Buffer.alloc(0))]);
      const within = (ms: number | string, lo: number, hi: number) => (typeof ms === "number" && ms >= lo && ms < hi ? "cut" : ms);
      expect([within(silent, 900, 2000), within(partial, 900, 2000), within(own, 2400, 3500)]).toEqual(["cut", "cut", "cut"]);
    } finally {
      await Promise.all(servers.map((s) => closeServer(s)));
    }
  });
});

// A peer that takes a large message slowly over TLS is not "not reading": the progress watch sees the
// TCP handle under the TLSWrap drain (socket-driver.ts, pending()). One that takes nothing still is.
describe("wss:// closing behind one large send (stallTimeout 2 s)", () => {
  const SIZE = 12_000_000; // read ~16 KB (one TLS record) per 20 ms: ~15 s
  async function run(slow: boolean) {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1", tls: { cert, key }, stallTimeout: 2000 });
    await new Promise((r) => server.once("listening", () => r(undefined)));
    const ended = new Promise<{ error?: string; code: number }>((resolve) =>
      server.on("connection", (ws: WebSocket) => {
        let error: string | undefined;
        ws.on("error", (e: Error & { code?: string }) => (error = e.code));
        ws.on("close", (code) => resolve({ error, code }));
        ws.send(new Uint8Array(SIZE).fill(7));
        ws.close(1000);
      }),
    );
    const sock = tls.connect({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", ca: cert, servername: "localhost" });
    sock.on("error", () => {});
    sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    // The slow reader pauses 20 ms after each read (at most ~3 MB/s); the other stops after the first.
    const read = readSlowly(sock, slow);
    try {
      const r = await Promise.race([ended, new Promise<{ code: number }>((res) => setTimeout(() => res({ code: -1 }), 30_000))]);
      return { ...r, n: slow ? read.n : undefined, tail: slow ? read.tail : undefined };
    } finally {
      sock.destroy();
      await closeServer(server);
    }
  }

  it("a slow reader gets it all, then the close frame", async () => {
    // 101 response (129 B), the message (24 MB and a 10-byte header), the close frame (4 B).
    expect(await run(true)).toEqual({ error: undefined, code: 1000, n: 129 + 10 + SIZE + 4, tail: "880203e8" });
  }, 40_000);

  it("a reader that stops is dropped as not reading", async () => {
    expect(await run(false)).toEqual({ error: "WS_ERR_PEER_NOT_READING", code: 1006, n: undefined, tail: undefined });
  }, 40_000);
});
