// Real TCP on 127.0.0.1 against the `ws` package, both ways.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WS, { WebSocketServer as WsServer } from "ws";
import type { AddressInfo } from "node:net";
import { WebSocketServer, connect, type WebSocket } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];

function payload(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}
const text = (n: number) => "aé€𝄞".repeat(Math.ceil(n / 10)).slice(0, Math.max(0, n - 3));

function once<T extends unknown[]>(em: { once(e: string, f: (...a: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => em.once(event, (...a: T) => resolve(a)));
}

/** Resolves on 'open'; a refused or failed handshake rejects (never waits for the test timeout). */
function opened(ws: { once(e: string, f: (...a: any[]) => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("close", (code: number) => reject(new Error(`closed (${code}) before open`)));
  });
}

interface EchoClient {
  send(data: Buffer | string): void;
  once(event: string, f: (...a: never[]) => void): unknown;
}

/** Sends an n-byte binary and an n-character text message and checks both echoes. */
async function expectEchoes(ws: EchoClient, n: number): Promise<void> {
  const bin = payload(n);
  ws.send(bin);
  const [got, isBinary] = await once<[Buffer, boolean]>(ws, "message");
  expect(isBinary).toBe(true);
  expect(Buffer.compare(got, bin)).toBe(0);
  const t = text(n);
  ws.send(t);
  const [got2, isBinary2] = await once<[Buffer, boolean]>(ws, "message");
  expect(isBinary2).toBe(false);
  expect(Buffer.isBuffer(got2)).toBe(true); // text comes as a Buffer, from ws and from us alike
  expect(got2.toString()).toBe(t);
}

describe("ws client → wasmsocket server", () => {
  let server: WebSocketServer;
  let url: string;
  const serverSide: { closes: [number, string][]; pings: number } = { closes: [], pings: 0 };

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: (p) => (p.has("chat") ? "chat" : false) });
    await once(server, "listening");
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on("connection", (ws: WebSocket) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on("ping", () => serverSide.pings++);
      ws.on("close", (code, reason) => serverSide.closes.push([code, reason.toString()]));
    });
  });
  afterAll(() => closeServer(server));

  async function open(protocols?: string[]): Promise<WS> {
    const ws = new WS(url, protocols);
    await opened(ws);
    return ws;
  }

  it.each(SIZES)("echoes %i-byte binary and text messages", async (n) => {
    const ws = await open();
    await expectEchoes(ws, n);
    ws.close();
    await once(ws, "close");
  });

  it("echoes a fragmented message and many pipelined messages in order", async () => {
    const ws = await open();
    ws.send("frag", { fin: false });
    ws.send("men", { fin: false });
    ws.send("ted", { fin: true });
    const [first] = await once<[Buffer]>(ws, "message");
    expect(first.toString()).toBe("fragmented");
    const got: string[] = [];
    const done = new Promise<void>((r) => ws.on("message", (d) => got.push(d.toString()) === 1000 && r()));
    for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
    await done;
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    ws.close();
    await once(ws, "close");
  });

  it("answers pings, negotiates a subprotocol and passes close codes both ways", async () => {
    const ws = await open(["x", "chat"]);
    expect(ws.protocol).toBe("chat");
    ws.ping("hi");
    const [pong] = await once<[Buffer]>(ws, "pong");
    expect(pong.toString()).toBe("hi");
    ws.close(4001, "see you");
    const [code, reason] = await once<[number, Buffer]>(ws, "close");
    // Our server echoes the code and the reason, as ws does.
    expect([code, reason.toString()]).toEqual([4001, "see you"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(serverSide.closes.at(-1)).toEqual([4001, "see you"]);
    expect(serverSide.pings).toBeGreaterThan(0);
  });

  it("fails a ws client that sends invalid UTF-8 with 1007", async () => {
    const ws = await open();
    ws.send(Buffer.from([0x61, 0xff]), { binary: false });
    const [code] = await once<[number]>(ws, "close");
    expect(code).toBe(1007);
  });
});

describe("wasmsocket client → ws server", () => {
  let server: WsServer;
  let url: string;

  beforeAll(async () => {
    server = new WsServer({ port: 0, host: "127.0.0.1", maxPayload: 64 << 20 });
    await once(server, "listening");
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/path?q=1`;
    server.on("connection", (ws, req) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on("ping", (d) => ws.send(`pinged:${d.toString()}`));
      if (req.url === "/close-me") ws.close(4002, "bye now");
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function open(u = url): Promise<WebSocket> {
    const ws = connect(u);
    await opened(ws);
    return ws;
  }

  it.each(SIZES)("echoes %i-byte binary and text messages", async (n) => {
    const ws = await open();
    await expectEchoes(ws, n);
    // As ws: close() without a code sends a close frame with no status; ws echoes it, so 1005.
    ws.close();
    const [code] = await once<[number]>(ws, "close");
    expect(code).toBe(1005);
    const again = await open();
    again.close(1000, "done");
    const [code2, reason2] = await once<[number, Buffer]>(again, "close");
    expect([code2, reason2.toString()]).toEqual([1000, "done"]);
  });

  it("sends pings and pipelined messages, and honours the server's close", async () => {
    const ws = await open();
    ws.ping("p1");
    const [msg] = await once<[Buffer]>(ws, "message");
    expect(msg.toString()).toBe("pinged:p1");
    const got: string[] = [];
    const done = new Promise<void>((r) => ws.on("message", (d) => got.push(String(d)) === 500 && r()));
    for (let i = 0; i < 500; i++) ws.send(`n${i}`);
    await done;
    expect(got[499]).toBe("n499");
    ws.close();
    await once(ws, "close");

    const closing = await open(url.replace(/\/path.*/, "/close-me"));
    const [code, reason] = await once<[number, Buffer]>(closing, "close");
    expect([code, reason.toString()]).toEqual([4002, "bye now"]);
  });
});
