// The browser API on Node (WebSocketClient) and the async iterator, against ws's server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { WebSocketClient, connect, messages } from "../src/node.js";

describe("WHATWG-compatible client and async iteration", () => {
  let server: WsServer;
  let url: string;
  beforeAll(async () => {
    server = new WsServer({ port: 0, host: "127.0.0.1", handleProtocols: (p) => [...p][0] ?? false });
    await new Promise((r) => server.once("listening", r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on("connection", (ws) => ws.on("message", (d, b) => (String(d) === "bye" ? ws.close(4000, "as asked") : ws.send(d, { binary: b }))));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("behaves like the browser's WebSocket", async () => {
    const ws = new WebSocketClient(url, "chat");
    expect(ws.readyState).toBe(WebSocketClient.CONNECTING);
    expect(() => ws.send("too early")).toThrow(/connecting/);
    await new Promise((r) => (ws.onopen = r));
    expect(ws.readyState).toBe(ws.OPEN);
    expect(ws.protocol).toBe("chat");
    ws.binaryType = "arraybuffer";
    const got: unknown[] = [];
    ws.addEventListener("message", (e) => got.push((e as MessageEvent).data));
    ws.send("text");
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send("bye");
    const close = await new Promise<CloseEvent>((r) => (ws.onclose = (e) => r(e as CloseEvent)));
    expect(got[0]).toBe("text");
    expect(got[1]).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(got[1] as ArrayBuffer)]).toEqual([1, 2, 3]);
    expect([close.code, close.reason, close.wasClean]).toEqual([4000, "as asked", true]);
    expect(ws.readyState).toBe(ws.CLOSED);
    expect(() => ws.close(1005)).toThrow();
  });

  it("delivers Blobs by default", async () => {
    const ws = new WebSocketClient(url);
    await new Promise((r) => (ws.onopen = r));
    ws.send(new Uint8Array([7]));
    const data = await new Promise<unknown>((r) => (ws.onmessage = (e) => r((e as MessageEvent).data)));
    expect(data).toBeInstanceOf(Blob);
    expect([...new Uint8Array(await (data as Blob).arrayBuffer())]).toEqual([7]);
    ws.close();
  });

  it("iterates messages with for await, ending at close", async () => {
    const ws = connect(url);
    await new Promise((r) => ws.once("open", () => r(undefined)));
    for (let i = 0; i < 5; i++) ws.send(`m${i}`);
    ws.send("bye");
    const seen: string[] = [];
    for await (const { data, isBinary } of messages(ws)) {
      // As ws: text comes as a Buffer.
      expect([Buffer.isBuffer(data), isBinary]).toEqual([true, false]);
      seen.push(String(data));
    }
    expect(seen).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    // The socket itself is async-iterable too; `textAsBytes: false` (an addition) gives text as strings.
    const again = connect(url, { textAsBytes: false });
    await new Promise((r) => again.once("open", () => r(undefined)));
    again.send("a");
    again.send("bye");
    const direct: string[] = [];
    for await (const { data } of again) direct.push(data as unknown as string);
    expect(typeof direct[0]).toBe("string");
    expect(direct).toEqual(["a"]);
  });
});

describe("WebSocketStream-style streams", () => {
  it("reads and writes messages with backpressure both ways", async () => {
    const { socketStreams } = await import("../src/index.js");
    const server = new WsServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => server.once("listening", r));
    server.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    const ws = connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await new Promise((r) => ws.once("open", () => r(undefined)));
    const { readable, writable } = socketStreams(ws, { highWaterMark: 2, maxBuffered: 1024 });
    const writer = writable.getWriter();
    const n = 200;
    const writing = (async () => {
      for (let i = 0; i < n; i++) await writer.write(`msg ${i} ${"x".repeat(1000)}`);
    })();
    const got: string[] = [];
    const reader = readable.getReader();
    while (got.length < n) {
      const { value } = await reader.read();
      got.push(String(value).split(" ")[1]!);
    }
    await reader.cancel(); // closes the socket
    await writing;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    await new Promise<void>((r) => server.close(() => r()));
  });
});
