// wasmsocket/node as ws 8, over real sockets: what a ws user's code relies on (Node's own
// IncomingMessage, Buffer text and close reasons, send callbacks, handleProtocols with a Set, ws's
// error codes) and the defects an outside attack on the new doors found, each failing before its fix.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import WebSocket, { WebSocketServer } from "../src/node.js";
import { frame } from "./helpers/frames.js";

const KEY16 = "dGhlIHNhbXBsZSBub25jZQ==";
const upgrade = (extra = "") =>
  `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY16}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(options: Partial<ConstructorParameters<typeof WebSocketServer>[0]> = {}): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  cleanups.push(() => {
    for (const ws of wss.clients ?? []) ws.terminate();
    return new Promise<void>((r) => wss.close(() => r()));
  });
  await new Promise((r) => wss.once("listening", () => r(undefined)));
  return { wss, port: (wss.address() as AddressInfo).port };
}

function client(url: string, options?: ConstructorParameters<typeof WebSocket>[2]): WebSocket {
  const ws = new WebSocket(url, options);
  ws.on("error", () => {});
  cleanups.push(() => ws.terminate());
  return ws;
}

/** Raw bytes in; everything received until the server closes or `ms` passes. */
function exchange(port: number, bytes: (string | Uint8Array)[], ms = 2_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(t);
      sock.destroy();
      resolve(Buffer.concat(chunks));
    };
    const t = setTimeout(done, ms);
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", done);
    sock.on("close", done);
    sock.on("connect", () => {
      for (const b of bytes) sock.write(b);
    });
  });
}

const once = <T extends unknown[]>(emitter: { once(e: string, f: (...a: T) => void): unknown }, event: string) =>
  new Promise<T>((r) => emitter.once(event, (...a: T) => r(a)));

describe("ws's API on our engine", () => {
  it("gives the 'connection' listener Node's IncomingMessage on the own listener, text as a Buffer, and close reasons as Buffers", async () => {
    const { wss, port } = await server();
    const got = once<[WebSocket, http.IncomingMessage]>(wss, "connection");
    const ws = client(`ws://127.0.0.1:${port}/chat?room=1`, { headers: { "x-token": "t1" } });
    const [peer, req] = await got;
    expect(req).toBeInstanceOf(http.IncomingMessage);
    expect(req.url).toBe("/chat?room=1");
    expect(req.headers["x-token"]).toBe("t1");
    expect(req.socket.remoteAddress).toBe("127.0.0.1");
    await once(ws, "open");
    const message = once<[Buffer, boolean]>(peer, "message");
    ws.send("héllo");
    const [data, isBinary] = await message;
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(data.toString()).toBe("héllo");
    expect(isBinary).toBe(false);
    const closed = once<[number, Buffer]>(ws, "close");
    peer.close(4001, "bye");
    const [code, reason] = await closed;
    expect(code).toBe(4001);
    expect(Buffer.isBuffer(reason)).toBe(true);
    expect(reason.toString()).toBe("bye");
  });

  it("calls send callbacks once the bytes are written, and with ws's error after close", async () => {
    const { wss, port } = await server();
    const peer = once<[WebSocket]>(wss, "connection");
    const ws = client(`ws://127.0.0.1:${port}`);
    await once(ws, "open");
    const [p] = await peer;
    const received = once<[Buffer]>(p, "message");
    const err = await new Promise<Error | undefined>((r) => ws.send(Buffer.alloc(100_000, 7), (e) => r(e)));
    expect(err).toBeUndefined();
    expect((await received)[0].length).toBe(100_000);
    ws.close();
    const after = await new Promise<Error | undefined>((r) => ws.send("late", (e) => r(e)));
    expect(after?.message).toBe("WebSocket is not open: readyState 2 (CLOSING)");
  });

  it("passes handleProtocols a Set and the IncomingMessage, and the client sees the choice", async () => {
    let seen: unknown;
    const { port } = await server({
      handleProtocols: (protocols, req) => {
        seen = [protocols instanceof Set, [...protocols], req instanceof http.IncomingMessage];
        return "b";
      },
    });
    const ws = client(`ws://127.0.0.1:${port}`, { protocols: ["a", "b"] });
    await once(ws, "open");
    expect(seen).toEqual([true, ["a", "b"], true]);
    expect(ws.protocol).toBe("b");
  });
});

describe("defects found by attacking the new doors", () => {
  it("a paused client stops reading, so the server's sends wait (direct reads restarted by Node before)", async () => {
    const { wss, port } = await server();
    const N = 16;
    const size = 1 << 20;
    let callbacks = 0;
    wss.on("connection", (ws) => {
      for (let i = 0; i < N; i++) ws.send(Buffer.alloc(size, i), () => callbacks++);
    });
    const ws = client(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    let messages = 0;
    ws.on("message", () => messages++);
    ws.on("open", () => ws.pause());
    await once(ws, "open");
    await new Promise((r) => setTimeout(r, 800));
    const read = (ws.socket as net.Socket).bytesRead;
    expect(messages).toBe(0);
    // The kernel's buffers take a few MiB; before the fix the whole 16 MiB was read.
    expect(read).toBeLessThan(8 * size);
    expect(callbacks).toBeLessThan(N);
    ws.resume();
    await new Promise<void>((resolve) => ws.on("message", () => messages === N && resolve()));
    expect(messages).toBe(N);
  });

  it("a client ends its side once both close frames are exchanged (a server waiting for its FIN does not hold it for closeTimeout)", async () => {
    // What the server sees, in order; it closes its own side only after the client's FIN.
    const seen: string[] = [];
    const srv = net.createServer((sock) => {
      sock.on("error", () => {});
      let head = "";
      sock.on("data", (d) => {
        if (head.includes("\r\n\r\n")) {
          // The client's frames (masked): its close frame echoes our code.
          if ((d[0]! & 0x0f) === 8) seen.push(`close ${(d[6]! ^ d[2]!) << 8 | (d[7]! ^ d[3]!)}`);
          return;
        }
        head += d.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(head)![1]!;
        const acc = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`);
        sock.write(Buffer.from([0x88, 2, 0x03, 0xe8])); // close 1000, then wait for the client's FIN
      });
      sock.on("end", () => {
        seen.push("client FIN");
        sock.end();
      });
    });
    cleanups.push(() => new Promise((r) => srv.close(r)));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    // No timer of the client's can fire here (its closeTimeout, the driver's linger): its FIN must
    // come from the close exchange itself. Sockets run on Node's own timers and are unaffected.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const ws = client(`ws://127.0.0.1:${(srv.address() as AddressInfo).port}`, { perMessageDeflate: false });
      const [code] = await once<[number]>(ws, "close");
      expect(code).toBe(1000);
      expect(seen).toEqual(["close 1000", "client FIN"]);
    } finally {
      vi.useRealTimers();
    }
  }, 10_000); // a client that waited for a timer would never send its FIN: fail here, not in 60 s

  it("a throwing 'upgrade', 'unexpected-response' or 'redirect' listener does not leave the client in CONNECTING", async () => {
    const script = fileURLToPath(new URL("./fixtures/throwing-client-listeners.mjs", import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (d) => (text += d));
      const t = setTimeout(() => child.kill(), 10_000);
      child.on("exit", () => (clearTimeout(t), resolve(text)));
      child.on("error", reject);
    });
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ event: "upgrade", events: ["open"], readyState: 1 });
    expect(lines[1]).toEqual({ event: "unexpected-response", events: ["error", "close"], readyState: 3 });
    // A throwing 'redirect' listener left the request without its listeners: CONNECTING for good, and
    // a second uncaught exception, "socket hang up" (found by an outside attack).
    expect(lines[2]).toEqual({ event: "redirect", events: ["open"], readyState: 1 });
    expect(lines[3].thrown.sort()).toEqual(["redirect listener threw", "unexpected-response listener threw", "upgrade listener threw"]);
  });

  it("verifyClient's callback may redirect (302 with Location) and its message goes out as UTF-8, as in ws", async () => {
    const { port } = await server({ verifyClient: (_info, cb) => cb(false, 302, "Moved", { Location: "/login" }) });
    const r1 = (await exchange(port, [upgrade()])).toString();
    expect(r1).toMatch(/^HTTP\/1\.1 302 Found\r\n/);
    expect(r1).toContain("Location: /login\r\n");
    const { port: p2 } = await server({ verifyClient: (_info, cb) => cb(false, 403, "Zugriff verweigert: ü") });
    const r2 = (await exchange(p2, [upgrade()])).toString("utf8");
    expect(r2).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(r2.endsWith("\r\n\r\nZugriff verweigert: ü")).toBe(true);
    // Still fail closed: a status that is no refusal becomes 401.
    const { port: p3 } = await server({ verifyClient: (_info, cb) => cb(false, 200) });
    expect((await exchange(p3, [upgrade()])).toString()).toMatch(/^HTTP\/1\.1 401 /);
  });

  it("reports corrupt compressed data with zlib's own error (Z_DATA_ERROR), closing with 1007", async () => {
    const { wss, port } = await server({ perMessageDeflate: true });
    const error = new Promise<Error & { code?: string }>((r) => wss.on("connection", (ws) => ws.on("error", r)));
    const bad = frame({ opcode: 1, payload: new Uint8Array([1, 2, 3, 4, 5, 6]), rsv: 4, key: new Uint8Array([1, 2, 3, 4]) });
    const reply = await exchange(port, [upgrade("Sec-WebSocket-Extensions: permessage-deflate\r\n"), bad]);
    const err = await error;
    expect(err.code).toBe("Z_DATA_ERROR");
    expect(err.message).toBe("invalid stored block lengths");
    const close = reply.subarray(reply.indexOf("\r\n\r\n") + 4);
    expect(close[0]).toBe(0x88);
    expect((close[2]! << 8) | close[3]!).toBe(1007);
  });
});

describe("skipUTF8Validation", () => {
  it("delivers invalid UTF-8 text as it came when set (ws's option), and closes with 1007 by default", async () => {
    const invalid = new Uint8Array([0x68, 0xc3, 0x28, 0x69]); // h, a broken two-byte sequence, i
    const bad = frame({ opcode: 1, payload: invalid, key: new Uint8Array([9, 8, 7, 6]) });
    for (const skip of [true, false]) {
      const { wss, port } = await server({ skipUTF8Validation: skip });
      const got = new Promise<string>((resolve) =>
        wss.on("connection", (ws) => {
          ws.on("message", (data) => resolve(`message ${Buffer.from(data as Buffer).toString("hex")}`));
          ws.on("close", (code) => resolve(`close ${code}`));
        }),
      );
      void exchange(port, [upgrade(), bad], 1_000);
      expect(await got).toBe(skip ? "message 68c32869" : "close 1006");
    }
  });
});
