// createWebSocketStream over real loopback sockets, with the `ws` package's WebSocket on both ends.
import { afterEach, describe, expect, it } from "vitest";
import WS, { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { createWebSocketStream } from "../src/adapters/node/stream.js";

const servers: WsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

async function server(onConnection: (ws: WS) => void, opts: { perMessageDeflate?: boolean } = {}): Promise<string> {
  const wss = new WsServer({ port: 0, host: "127.0.0.1", ...opts });
  servers.push(wss);
  wss.on("connection", onConnection);
  await new Promise((r) => wss.once("listening", r));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

const echo = (ws: WS) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));

function collect(stream: NodeJS.ReadableStream): Promise<unknown[]> {
  const out: unknown[] = [];
  stream.on("data", (c) => out.push(c));
  return new Promise((resolve, reject) => {
    stream.once("end", () => resolve(out));
    stream.once("error", reject);
  });
}

describe("createWebSocketStream", () => {
  it("round-trips writes made while CONNECTING, as binary by default and text with decodeStrings: false", async () => {
    const url = await server(echo);
    const ws = new WS(url);
    expect(ws.readyState).toBe(WS.CONNECTING);
    const duplex = createWebSocketStream(ws, { readableObjectMode: true, decodeStrings: false });
    const got = collect(duplex);
    const seen: boolean[] = [];
    ws.on("message", (_d, isBinary) => {
      seen.push(isBinary);
      if (seen.length === 2) duplex.end();
    });
    duplex.write(Buffer.from([1, 2, 3]));
    duplex.write("héllo");
    const closed = new Promise((r) => duplex.once("close", r));
    const chunks = await got;
    await closed;
    expect(seen).toEqual([true, false]);
    expect(chunks).toEqual([Buffer.from([1, 2, 3]), "héllo"]);
    expect(ws.readyState).toBe(WS.CLOSED);
    expect(duplex.destroyed).toBe(true);
  });

  it("passes encoding to the readable side and pipes", async () => {
    const url = await server((ws) => {
      ws.send("ab");
      ws.send(Buffer.from("cd"));
      ws.close();
    });
    const duplex = createWebSocketStream(new WS(url), { encoding: "utf8" });
    let text = "";
    await pipeline(duplex, new Writable({ decodeStrings: false, write(c, _e, cb) { text += c; cb(); } }));
    expect(text).toBe("abcd");
  });

  it("pauses the socket while the readable side is full and resumes when it is read", async () => {
    const N = 64;
    const big = Buffer.alloc(64 * 1024, 7);
    const url = await server((ws) => {
      for (let i = 0; i < N; i++) ws.send(big);
      ws.close();
    });
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws, { highWaterMark: 16 * 1024 });
    await new Promise((r) => ws.once("open", r));
    // Nothing reads: the first message fills the buffer and pauses the socket.
    await new Promise<void>((r) => ws.once("message", () => setImmediate(r)));
    expect(ws.isPaused).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(duplex.readableLength).toBeLessThan(N * big.length);
    expect(ws.readyState).toBe(WS.OPEN); // the server's close frame is still behind the unread data
    let bytes = 0;
    duplex.on("data", (c: Buffer) => (bytes += c.length));
    await new Promise((r) => duplex.once("end", r));
    expect(bytes).toBe(N * big.length);
    duplex.end();
    await new Promise((r) => duplex.once("close", r));
  });

  it("returns false from write() under send backpressure and emits 'drain'", async () => {
    let received = 0;
    const url = await server((ws) => ws.on("message", (d: Buffer) => (received += d.length)));
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws);
    await new Promise((r) => ws.once("open", r));
    duplex.resume();
    const chunk = Buffer.alloc(1024, 1);
    let writes = 0;
    while (duplex.write(chunk)) writes++;
    writes++;
    await new Promise((r) => duplex.once("drain", r));
    duplex.end();
    await new Promise((r) => duplex.once("close", r));
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toBe(writes * chunk.length);
  });

  it("end() closes the WebSocket cleanly (1005, no status) after buffered writes, and the stream closes with it", async () => {
    const closes: [number, string][] = [];
    const got: string[] = [];
    const url = await server((ws) => {
      ws.on("message", (d) => got.push(String(d)));
      ws.on("close", (code, reason) => closes.push([code, reason.toString()]));
    });
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws);
    const events: string[] = [];
    duplex.on("finish", () => events.push("finish"));
    duplex.on("end", () => events.push("end"));
    duplex.resume();
    duplex.end("last");
    await new Promise((r) => duplex.once("close", r));
    expect(events.sort()).toEqual(["end", "finish"]);
    expect(ws.readyState).toBe(WS.CLOSED);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(["last"]);
    expect(closes).toEqual([[1005, ""]]);
  });

  it("a peer close ends the readable side; the writable side stays usable until ended", async () => {
    const url = await server((ws) => ws.close(1000, "bye"));
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws);
    duplex.resume();
    await new Promise((r) => duplex.once("end", r));
    expect(duplex.destroyed).toBe(false);
    expect(duplex.writable).toBe(true);
    duplex.end();
    await new Promise((r) => duplex.once("close", r));
  });

  it("destroy() terminates the WebSocket and forwards the error", async () => {
    const url = await server(() => {});
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws);
    await new Promise((r) => ws.once("open", r));
    const oops = new Error("oops");
    const errored = new Promise((r) => duplex.once("error", r));
    const closed = new Promise((r) => duplex.once("close", r));
    duplex.destroy(oops);
    expect(await errored).toBe(oops);
    await closed;
    expect(ws.readyState).toBe(WS.CLOSED);
  });

  it("forwards WebSocket errors and closes after the WebSocket does", async () => {
    const url = await server((ws) => (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x85, 0x00])));
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws);
    const errored = new Promise<Error & { code?: string }>((r) => duplex.once("error", r));
    const closed = new Promise((r) => duplex.once("close", r));
    expect((await errored).code).toBe("WS_ERR_INVALID_OPCODE");
    await closed;
    expect(ws.readyState).toBe(WS.CLOSED);
  });

  it("a write after the WebSocket closed errors and destroys the stream", async () => {
    const url = await server((ws) => ws.close());
    const ws = new WS(url);
    const duplex = createWebSocketStream(ws);
    await new Promise((r) => ws.once("close", r));
    duplex.write("late");
    const err = await new Promise<Error>((r) => duplex.once("error", r));
    expect(err.message).toMatch(/not open: readyState 3/);
    expect(duplex.destroyed).toBe(true);
  });
});
