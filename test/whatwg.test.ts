// The browser API on Node (WebSocketClient) and the async iterator, against ws's server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
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

  // What Chromium does (attack/chromium-whatwg.ts), over a real socket: the on* handlers are listeners
  // in the order they were set, and each event's target is the socket.
  it("runs the on* handlers as listeners: in the order added, with the socket as the event's target", async () => {
    const ws = new WebSocketClient(url);
    const order: string[] = [];
    ws.addEventListener("message", (e) => order.push(`first ${e.target === ws}`));
    ws.onmessage = (e) => order.push(`onmessage ${e.target === ws}`);
    ws.addEventListener("message", () => order.push("last"));
    // Setting it again keeps its place; null removes it; a non-function is null.
    ws.onmessage = (e) => order.push(`onmessage again ${e.target === ws}`);
    await new Promise((r) => (ws.onopen = r));
    ws.send("one");
    await new Promise<void>((r) => ws.addEventListener("message", () => r(), { once: true }));
    expect(order).toEqual(["first true", "onmessage again true", "last"]);
    ws.onmessage = null;
    expect(ws.onmessage).toBe(null);
    ws.onmessage = "not a function" as unknown as null;
    expect(ws.onmessage).toBe(null);
    ws.send("two");
    await new Promise<void>((r) => ws.addEventListener("message", () => r(), { once: true }));
    expect(order).toEqual(["first true", "onmessage again true", "last", "first true", "last"]);
    ws.close();
    await new Promise((r) => (ws.onclose = r));
  });

  it("throws SyntaxError for a close reason over 123 bytes, ignores an unknown binaryType, and gives http: URLs as ws:", async () => {
    const ws = new WebSocketClient(url.replace("ws:", "http:"));
    // Thrown before anything happens: the socket still opens.
    let thrown: unknown;
    try {
      ws.close(3000, "é".repeat(62));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DOMException);
    expect((thrown as DOMException).name).toBe("SyntaxError");
    expect(ws.readyState).toBe(ws.CONNECTING);
    ws.binaryType = "bogus" as "blob";
    expect(ws.binaryType).toBe("blob");
    ws.binaryType = "arraybuffer";
    ws.binaryType = "nodebuffer" as "blob";
    expect(ws.binaryType).toBe("arraybuffer");
    expect(ws.url).toBe(`${url}/`);
    await new Promise((r) => (ws.onopen = r));
    ws.close(3000, "é".repeat(61) + "x"); // 123 bytes: fine
    const ev = await new Promise<CloseEvent>((r) => (ws.onclose = (e) => r(e as CloseEvent)));
    expect(ev.code).toBe(3000);
  });

  it("a throwing onmessage stops no other listener (in a child process, which reports the exception)", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/whatwg-throwing-handler.mjs", import.meta.url));
    const child = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(0);
    const result = JSON.parse(out.trim().split("\n").pop()!);
    // Both messages reached the listener after the throwing handler, and each exception was reported.
    expect(result).toEqual({ later: ["a", "b"], uncaught: ["boom a", "boom b"], closed: 1000 });
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
