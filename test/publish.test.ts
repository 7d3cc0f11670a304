// Publish/subscribe on the Node server over real sockets, with `ws` clients: Bun's names and
// semantics (subscribe, unsubscribe, isSubscribed, subscriptions, ws.publish to everyone but the
// sender, server.publish to everyone, subscriberCount), subscriptions ending with the connection,
// compressed publishes, and a subscriber that stops reading: it misses messages (counted) or is
// closed with 1013, while the others get every message in order.
import { afterEach, describe, expect, it } from "vitest";
import WS from "ws";
import type { AddressInfo } from "node:net";
import { WebSocketServer, WebSocket as NodeWebSocket, type ServerOptions, type WebSocket } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(options: Partial<ServerOptions> = {}) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  cleanups.push(() => closeServer(wss));
  const sockets: WebSocket[] = [];
  wss.on("connection", (ws) => {
    ws.subscribe("room");
    sockets.push(ws);
  });
  return { wss, sockets, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/** A ws client that records what it receives; resolves once the server has its socket. */
async function client(url: string, wss: WebSocketServer, options: WS.ClientOptions = {}) {
  const before = wss.clients.size;
  const ws = new WS(url, { perMessageDeflate: false, ...options });
  cleanups.push(() => ws.terminate());
  const got: { data: Buffer; isBinary: boolean }[] = [];
  ws.on("message", (data: Buffer, isBinary) => got.push({ data, isBinary }));
  await new Promise((r) => ws.once("open", r));
  for (let i = 0; i < 100 && wss.clients.size === before; i++) await new Promise((r) => setTimeout(r, 5));
  return { ws, got };
}

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).toBe(true);
}

describe("publish/subscribe (Node server)", () => {
  it("server.publish reaches every subscriber, text as text and bytes as binary; ws.publish skips the sender", async () => {
    const { wss, sockets, url } = await server();
    const a = await client(url, wss);
    const b = await client(url, wss);
    const c = await client(url, wss);
    expect(wss.subscriberCount("room")).toBe(3);
    expect(sockets[0]!.isSubscribed("room")).toBe(true);
    expect(sockets[0]!.subscriptions).toEqual(["room"]);
    expect(wss.publish("room", "héllo")).toBe(6);
    expect(wss.publish("room", Uint8Array.of(1, 2, 3))).toBe(3);
    expect(wss.publish("nobody", "x")).toBe(0);
    expect(sockets[1]!.publish("room", "from b")).toBe(6);
    await until(() => a.got.length === 3 && c.got.length === 3 && b.got.length === 2, "all delivered");
    for (const r of [a, b, c]) {
      expect(r.got[0]).toEqual({ data: Buffer.from("héllo"), isBinary: false });
      expect(r.got[1]).toEqual({ data: Buffer.from([1, 2, 3]), isBinary: true });
    }
    expect(a.got[2]!.data.toString()).toBe("from b");
    expect(c.got[2]!.data.toString()).toBe("from b");
  });

  it("unsubscribe and closing end a subscription", async () => {
    const { wss, sockets, url } = await server();
    const a = await client(url, wss);
    const b = await client(url, wss);
    sockets[0]!.unsubscribe("room");
    expect(sockets[0]!.isSubscribed("room")).toBe(false);
    expect(wss.subscriberCount("room")).toBe(1);
    wss.publish("room", "only b");
    await until(() => b.got.length === 1, "b got it");
    b.ws.close();
    await until(() => wss.subscriberCount("room") === 0, "b's subscription ended with it");
    expect(a.got).toEqual([]);
  });

  it("subscriptions end with the connection even after ws.removeAllListeners()", async () => {
    const { wss, sockets, url } = await server();
    const a = await client(url, wss);
    const b = await client(url, wss);
    const gone = sockets[1]!;
    gone.removeAllListeners(); // the server's own 'close' listener goes too
    b.ws.close();
    await until(() => gone.readyState === NodeWebSocket.CLOSED, "b's server socket closed");
    expect(gone.subscriptions).toEqual([]);
    expect(wss.subscriberCount("room")).toBe(1); // a closed socket is no subscriber (nor held by the topic)
    wss.publish("room", "after");
    await until(() => a.got.length === 1, "a got it");
  });

  it("a client socket has no topics", () => {
    const c = new NodeWebSocket("ws://127.0.0.1:1");
    c.on("error", () => {});
    expect(() => c.subscribe("t")).toThrow(/only a server's sockets/);
    expect(c.isSubscribed("t")).toBe(false);
  });

  it("compresses once for subscribers without context takeover, and per subscriber with it", async () => {
    const { wss, url } = await server({ perMessageDeflate: { serverNoContextTakeover: true, threshold: 16 } });
    const shared = await client(url, wss, { perMessageDeflate: true });
    const shared2 = await client(url, wss, { perMessageDeflate: true });
    const plain = await client(url, wss, { perMessageDeflate: false });
    const text = JSON.stringify({ rows: Array.from({ length: 50 }, (_, i) => ({ i, v: "abc" })) });
    for (let i = 0; i < 5; i++) wss.publish("room", text);
    await until(() => [shared, shared2, plain].every((r) => r.got.length === 5), "all delivered");
    expect(shared.ws.extensions).toMatch(/permessage-deflate/);
    expect(plain.ws.extensions).toBe("");
    for (const r of [shared, shared2, plain]) for (const m of r.got) expect(m.data.toString()).toBe(text);
  });

  it("keeps compressing per subscriber where the context is kept", async () => {
    const { wss, url } = await server({ perMessageDeflate: { threshold: 16 } });
    const a = await client(url, wss, { perMessageDeflate: true });
    const b = await client(url, wss, { perMessageDeflate: true });
    const msgs = Array.from({ length: 20 }, (_, i) => `message ${i} ` + "z".repeat(200 + i));
    for (const m of msgs) wss.publish("room", m);
    await until(() => a.got.length === 20 && b.got.length === 20, "all delivered");
    expect(a.got.map((m) => m.data.toString())).toEqual(msgs);
    expect(b.got.map((m) => m.data.toString())).toEqual(msgs);
  });

  it("a subscriber that stops reading misses messages (counted); the others get all of them in order", async () => {
    const { wss, sockets, url } = await server({ backpressureLimit: 256 * 1024 });
    const fast = await client(url, wss);
    const slow = await client(url, wss);
    const slowSocket = sockets[1]!;
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = new Uint8Array(16 * 1024);
    const count = 800; // 12.8 MiB: far beyond what the slow client's kernel buffers hold
    for (let i = 0; i < count; i++) {
      new DataView(payload.buffer).setUint32(0, i);
      wss.publish("room", payload);
      if (i % 4 === 3) await new Promise((r) => setImmediate(r));
    }
    await until(() => fast.got.length === count, "the fast subscriber got everything");
    expect(fast.got.map((m) => m.data.readUInt32BE(0))).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(slowSocket.droppedMessages).toBeGreaterThan(0);
    expect(sockets[0]!.droppedMessages).toBe(0);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await until(() => slow.got.length + slowSocket.droppedMessages === count, "the slow one got the rest");
    const seen = slow.got.map((m) => m.data.readUInt32BE(0));
    expect(seen).toEqual([...seen].sort((x, y) => x - y)); // in order, with gaps
  });

  it("closeOnBackpressureLimit closes such a subscriber with 1013", async () => {
    const { wss, url } = await server({ backpressureLimit: 64 * 1024, closeOnBackpressureLimit: true });
    const fast = await client(url, wss);
    const slow = await client(url, wss);
    const closed = new Promise<number>((r) => slow.ws.on("close", (code) => r(code)));
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = new Uint8Array(16 * 1024);
    for (let i = 0; i < 400; i++) {
      wss.publish("room", payload);
      if (i % 4 === 3) await new Promise((r) => setImmediate(r));
    }
    await until(() => fast.got.length === 400, "the fast subscriber got everything");
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r(-1), 5000))])).toBe(1013);
  });
});
