// A send whose callback says it succeeded was handed to the kernel: terminate() (or any destroy) with
// sends still queued in Node reports them as failed. Node calls the callback of a write cut off by
// destroy() without an error, so without the transport's own accounting every one of them said
// "sent" (30 x 1 MiB to a peer that read nothing: 30 successes, 0 bytes delivered). Real sockets on
// loopback; the peers never read, so the kernel's buffers fill and the rest stays in Node.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net, { type AddressInfo } from "node:net";
import http2 from "node:http2";
import { createHash } from "node:crypto";
import { WebSocket, WebSocketServer } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";

const MiB = Buffer.alloc(1 << 20, 7);
const N = 30;

/** Sends N x 1 MiB with callbacks, waits, terminates, and counts what the callbacks said. */
async function sendThenTerminate(ws: WebSocket): Promise<{ ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  let calls = 0;
  const all = new Promise<void>((resolve) => {
    for (let i = 0; i < N; i++)
      ws.send(MiB, (err) => {
        if (err) failed++;
        else ok++;
        if (++calls === N) resolve();
      });
  });
  await new Promise((r) => setTimeout(r, 300));
  ws.terminate();
  await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
  return { ok, failed };
}

describe("send callbacks after terminate() with sends still queued", () => {
  // A WebSocket server (by hand) that never reads after the handshake.
  let deaf: net.Server;
  let deafPort: number;
  const deafSockets: net.Socket[] = [];
  beforeAll(async () => {
    deaf = net.createServer((sock) => {
      deafSockets.push(sock);
      sock.on("error", () => {});
      sock.once("data", (d) => {
        const key = /sec-websocket-key: *(.*)\r\n/i.exec(String(d))![1]!;
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        sock.pause();
      });
    });
    await new Promise<void>((r) => deaf.listen(0, "127.0.0.1", r));
    deafPort = (deaf.address() as AddressInfo).port;
  });
  // Paused, its sockets never see the client's end: destroyed here.
  afterAll(() => new Promise<void>((r) => (deafSockets.forEach((s) => s.destroy()), deaf.close(() => r()))));

  it("a client's: every callback runs, and the sends Node still held are reported failed", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${deafPort}/`, { perMessageDeflate: false });
    ws.on("error", () => {});
    await new Promise<void>((r) => ws.once("open", () => r()));
    const { ok, failed } = await sendThenTerminate(ws);
    expect(ok + failed).toBe(N);
    expect(failed).toBeGreaterThan(0);
  });

  it("a server's, to a client that stops reading", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const server = new Promise<WebSocket>((r) => wss.once("connection", r));
    // A client by hand that reads the 101 and nothing more.
    const sock = net.connect((wss.address() as AddressInfo).port, "127.0.0.1");
    sock.on("error", () => {});
    sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    sock.once("data", () => sock.pause());
    const ws = await server;
    try {
      const { ok, failed } = await sendThenTerminate(ws);
      expect(ok + failed).toBe(N);
      expect(failed).toBeGreaterThan(0);
    } finally {
      sock.destroy();
      await closeServer(wss);
    }
  });

  it("over HTTP/2: a client's stream the server does not read", async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    // The stream it pauses is never read, so its session would never finish closing: destroyed at the end.
    const sessions: http2.ServerHttp2Session[] = [];
    server.on("session", (s) => sessions.push(s));
    server.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200 });
      stream.pause();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { http2: true, perMessageDeflate: false });
      ws.on("error", () => {});
      await new Promise<void>((r) => ws.once("open", () => r()));
      const { ok, failed } = await sendThenTerminate(ws);
      expect(ok + failed).toBe(N);
      expect(failed).toBeGreaterThan(0);
    } finally {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
