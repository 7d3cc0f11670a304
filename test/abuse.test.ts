// Abuse over real TCP on 127.0.0.1: whatever a peer sends, the server keeps working, answers with
// the right close code or HTTP status, and keeps memory bounded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as net from "node:net";
import { deflateRawSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import WS from "ws";
import { WebSocketServer, type WebSocket } from "../src/node.js";
import { concat, frame, KEY } from "./helpers/frames.js";
import { closeServer } from "./helpers/servers.js";

const KEY16 = "dGhlIHNhbXBsZSBub25jZQ==";
const REQUEST = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY16}\r\nSec-WebSocket-Version: 13\r\n`;

let server: WebSocketServer;
let port: number;
const closes: number[] = [];
const received: number[] = [];
/** The codes of the errors the server's connections report. */
const errors: string[] = [];

beforeAll(async () => {
  server = new WebSocketServer({ port: 0, host: "127.0.0.1", handshakeTimeout: 300, perMessageDeflate: true, maxMessageSize: 1 << 20 });
  await new Promise((r) => server.once("listening", () => r(undefined)));
  port = (server.address() as AddressInfo).port;
  server.on("connection", (ws: WebSocket) => {
    ws.on("message", (d, b) => {
      received.push((d as Buffer).length);
      ws.send(d, { binary: b });
    });
    ws.on("close", (code) => closes.push(code));
    ws.on("error", (e) => errors.push((e as Error & { code?: string }).code ?? e.message));
  });
});
afterAll(() => closeServer(server));

/** A raw TCP client: write bytes, collect everything the server sends until it closes. */
function raw(): { sock: net.Socket; data: () => Buffer; closed: Promise<void> } {
  const sock = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  sock.on("data", (d) => chunks.push(d));
  sock.on("error", () => {});
  const closed = new Promise<void>((r) => sock.on("close", () => r()));
  return { sock, data: () => Buffer.concat(chunks), closed };
}

async function openWs(): Promise<WS> {
  const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  return ws;
}

/** Frames after the 101 response head. */
function framesAfterHead(b: Buffer): Buffer {
  return b.subarray(b.indexOf("\r\n\r\n") + 4);
}

/** The server's (unmasked) frames in `b`, as opcode and payload bytes; a cut last frame is left out. */
function serverFrames(b: Buffer): { opcode: number; payload: number[] }[] {
  const out: { opcode: number; payload: number[] }[] = [];
  for (let at = 0; at + 2 <= b.length; ) {
    let len = b[at + 1]! & 0x7f;
    let start = at + 2;
    if (len === 126) (len = b.readUInt16BE(start)), (start += 2);
    else if (len === 127) (len = Number(b.readBigUInt64BE(start))), (start += 8);
    if (start + len > b.length) break;
    out.push({ opcode: b[at]! & 0x0f, payload: [...b.subarray(start, start + len)] });
    at = start + len;
  }
  return out;
}

describe("handshake abuse", () => {
  it("completes a handshake trickled one byte at a time", async () => {
    const c = raw();
    const req = Buffer.from(REQUEST + "\r\n");
    for (const b of req) {
      c.sock.write(Buffer.of(b));
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(c.data().toString()).toMatch(/^HTTP\/1\.1 101 /);
    c.sock.destroy();
  });

  it("drops a handshake that never completes (slowloris) after handshakeTimeout", async () => {
    const c = raw();
    c.sock.write("GET / HTTP/1.1\r\nHost: x\r\n");
    // Bounded: a server that never drops it fails here, not at the test timeout, and the socket
    // is not left open (it would hold the own listener's close() in afterAll).
    const dropped = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    c.sock.destroy();
    expect(dropped).toBe(true);
    // Dropped for its time (the request deadline answers 408), not for anything the head said.
    expect(c.data().toString()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("answers thousands of headers with 431 and a pathological protocol header in linear time", async () => {
    const many = raw();
    many.sock.write(REQUEST + Array.from({ length: 5000 }, (_, i) => `X-${i}: v\r\n`).join("") + "\r\n");
    await many.closed;
    expect(many.data().toString()).toMatch(/^HTTP\/1\.1 431 /);
    // Empty list elements: ws (and so we) refuse the header with 400, at once.
    const weird = raw();
    weird.sock.write(REQUEST + `Sec-WebSocket-Protocol: ${", ".repeat(5000)}a\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(weird.data().toString()).toMatch(/^HTTP\/1\.1 400 /);
    weird.sock.destroy();
    // 1 500 distinct valid protocols (within Node's 16 KiB header limit): accepted, in linear time too.
    const long = raw();
    long.sock.write(REQUEST + `Sec-WebSocket-Protocol: ${Array.from({ length: 1500 }, (_, i) => `p${i}`).join(", ")}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(long.data().toString()).toMatch(/^HTTP\/1\.1 101 [^]*Sec-WebSocket-Protocol: p0\r\n/);
    long.sock.destroy();
  });

  it("answers control characters in a header value (NUL, lone CR or LF, DEL) with 400, as llhttp does, and keeps HTAB", async () => {
    for (const bad of ["a\x00b", "\x00", "a\x01", "a\rb", "a\nb", "a\x7f"]) {
      const c = raw();
      c.sock.write(Buffer.from(REQUEST + `X-Bad: ${bad}\r\n\r\n`, "latin1"));
      // A 400 closes the socket; a (wrong) 101 keeps it open.
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, 500))]);
      c.sock.destroy();
      expect(c.data().toString("latin1"), JSON.stringify(bad)).toMatch(/^HTTP\/1\.1 400 /);
    }
    const tab = raw();
    tab.sock.write(REQUEST + "X-Tab: a\tb\r\n\r\n");
    await new Promise((r) => setTimeout(r, 100));
    expect(tab.data().toString()).toMatch(/^HTTP\/1\.1 101 /);
    tab.sock.destroy();
  });
});

describe("frame abuse", () => {
  it("assembles 100 000 one-byte fragments", async () => {
    const c = raw();
    const parts = [frame({ opcode: 2, fin: false, payload: Uint8Array.of(1), key: KEY })];
    const cont = frame({ opcode: 0, fin: false, payload: Uint8Array.of(1), key: KEY });
    for (let i = 0; i < 99_998; i++) parts.push(cont);
    parts.push(frame({ opcode: 0, payload: Uint8Array.of(1), key: KEY }));
    c.sock.write(Buffer.from(REQUEST + "\r\n"));
    c.sock.write(concat(...parts));
    await new Promise<void>((r) => {
      const check = () => (framesAfterHead(c.data()).length >= 100_004 ? r() : setTimeout(check, 20));
      check();
    });
    expect(received.at(-1)).toBe(100_000);
    c.sock.destroy();
  });

  it("answers a flood of 10 000 pings with 10 000 pongs and stays up", async () => {
    const ws = await openWs();
    let pongs = 0;
    const done = new Promise<void>((r) => ws.on("pong", () => ++pongs === 10_000 && r()));
    for (let i = 0; i < 10_000; i++) ws.ping("x");
    await done;
    ws.close();
  });

  it("stops a decompression bomb with 1009", async () => {
    const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
    await new Promise((r) => ws.once("open", r));
    const sock = (ws as unknown as { _socket: net.Socket })._socket;
    sock.write(frame({ opcode: 2, rsv: 4, payload: deflateRawSync(Buffer.alloc(200 << 20), { level: 9 }), key: KEY }));
    const [code] = await new Promise<[number]>((r) => ws.once("close", (...a: [number]) => r(a)));
    expect(code).toBe(1009);
  });

  it("fails random garbage after the handshake with 1002, closes that connection, and keeps serving new ones", async () => {
    for (let i = 0; i < 20; i++) {
      const errorsBefore = errors.length;
      const c = raw();
      c.sock.write(Buffer.from(REQUEST + "\r\n"));
      c.sock.write(Buffer.from(Array.from({ length: 500 }, (_, j) => (i * 7919 + j * 104729) & 255)));
      // Bounded: a server that leaves the connection open fails here, not at the test timeout.
      const closedByServer = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      c.sock.destroy();
      expect(closedByServer, `garbage ${i}: the server closes the connection`).toBe(true);
      expect(c.data().toString("latin1"), `garbage ${i}`).toMatch(/^HTTP\/1\.1 101 /);
      // Whatever came before (a pong, an echo of a frame that happened to be valid), it ends with close 1002.
      const sent = serverFrames(framesAfterHead(c.data()));
      expect(sent.at(-1), `garbage ${i}: the last frame`).toEqual({ opcode: 8, payload: [0x03, 0xea] });
      expect(errors.slice(errorsBefore), `garbage ${i}: the server's 'error'`).toEqual([expect.stringMatching(/^WS_ERR_/)]);
      // A new connection right behind it is accepted and served.
      const ws = await openWs();
      ws.send(`still up after ${i}`);
      const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (...a: [Buffer]) => r(a)));
      expect(d.toString()).toBe(`still up after ${i}`);
      ws.close();
    }
  });

  it("reports 1006 when a peer resets mid-frame", async () => {
    const before = closes.length;
    const c = raw();
    c.sock.write(Buffer.from(REQUEST + "\r\n"));
    const f = frame({ opcode: 2, payload: new Uint8Array(10_000), key: KEY });
    c.sock.write(f.subarray(0, 5000));
    await new Promise((r) => setTimeout(r, 50));
    c.sock.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(closes.slice(before)).toContain(1006);
  });
});

describe("many connections", () => {
  it("serves 1 000 concurrent connections and lets their memory go", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const base = process.memoryUsage().heapUsed;
    const sockets = await Promise.all(Array.from({ length: 1000 }, () => openWs()));
    await Promise.all(
      sockets.map(async (ws, i) => {
        ws.send(`hello ${i}`);
        const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (...a: [Buffer]) => r(a)));
        expect(d.toString()).toBe(`hello ${i}`);
      }),
    );
    expect(server.clients.size).toBeGreaterThanOrEqual(1000);
    await Promise.all(sockets.map((ws) => new Promise((r) => (ws.once("close", r), ws.close()))));
    await new Promise((r) => setTimeout(r, 200));
    expect(server.clients.size).toBeLessThan(10);
    gc?.();
    // Both ends live in this process; what stays must be far below a connection's worth each.
    expect(process.memoryUsage().heapUsed - base).toBeLessThan(64 << 20);
  });
});

describe("a peer that stops reading", () => {
  it("is dropped once maxPendingBytes are queued for it", async () => {
    const srv = new WebSocketServer({ port: 0, host: "127.0.0.1", maxPendingBytes: 1 << 20 });
    await new Promise((r) => srv.once("listening", () => r(undefined)));
    const closed = new Promise<number>((resolve) =>
      srv.on("connection", (ws: WebSocket) => {
        ws.on("close", (code) => resolve(code));
        const chunk = Buffer.alloc(64 * 1024);
        const timer = setInterval(() => {
          for (let i = 0; i < 16 && ws.readyState === 1; i++) ws.send(chunk);
          if (ws.readyState !== 1) clearInterval(timer);
        }, 1);
      }),
    );
    const c = net.connect((srv.address() as AddressInfo).port, "127.0.0.1");
    c.on("error", () => {});
    c.write(REQUEST + "\r\n");
    c.pause(); // never read
    expect(await closed).toBe(1006);
    c.destroy();
    await closeServer(srv);
  });
});
