// `fragments: true` over real TCP on 127.0.0.1: every adapter emits 'fragment' (data, isBinary,
// first, last) in order instead of 'message'; close events carry the core's wasClean.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as net from "node:net";
import { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import { WebSocketServer as WsServer } from "ws";
import { Connection, overStreams, WebSocketClient, WebSocketServer, type StreamPair, type WebSocket } from "../src/node.js";
import { concat, frame, KEY } from "./helpers/frames.js";
import { closeServer } from "./helpers/servers.js";

const KEY16 = "dGhlIHNhbXBsZSBub25jZQ==";
const REQUEST = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY16}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
const until = (f: () => boolean, ms = 3000) =>
  new Promise<void>((resolve) => {
    const t0 = Date.now();
    const tick = () => (f() || Date.now() - t0 > ms ? resolve() : setTimeout(tick, 5));
    tick();
  });
type Piece = [string | number[], boolean, boolean, boolean];
const piece = (data: Uint8Array, isBinary: boolean, first: boolean, last: boolean): Piece => [isBinary ? [...data] : new TextDecoder().decode(data), isBinary, first, last];

describe("our Node server with fragments: true", () => {
  let server: WebSocketServer;
  let port: number;
  const got: Piece[] = [];
  const events: string[] = [];
  const closes: unknown[][] = [];
  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", fragments: true });
    await new Promise((r) => server.once("listening", () => r(undefined)));
    port = (server.address() as AddressInfo).port;
    server.on("connection", (ws: WebSocket) => {
      ws.on("fragment", (data, isBinary, first, last) => {
        expect(Buffer.isBuffer(data)).toBe(true);
        got.push(piece(data, isBinary, first, last));
      });
      ws.on("message", () => events.push("message"));
      ws.on("ping", () => events.push("ping"));
      ws.on("close", (code, reason, wasClean) => closes.push([code, reason.toString(), wasClean]));
    });
  });
  afterAll(() => closeServer(server));

  it("delivers each frame of a raw client's fragmented messages in order, with first/last", async () => {
    const sock = net.connect(port, "127.0.0.1");
    sock.on("error", () => {});
    let head = "";
    sock.on("data", (d) => (head += d.toString("latin1")));
    sock.write(REQUEST);
    await until(() => head.includes("\r\n\r\n"));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    sock.write(
      concat(
        frame({ opcode: 1, fin: false, payload: "ab", key: KEY }),
        frame({ opcode: 9, payload: "p", key: KEY }), // a ping between fragments
        frame({ opcode: 0, fin: false, payload: "", key: KEY }), // empty: nothing to deliver
        frame({ opcode: 0, fin: false, payload: "cd", key: KEY }),
        frame({ opcode: 0, fin: true, payload: "e", key: KEY }),
        frame({ opcode: 2, fin: true, payload: new Uint8Array([1, 2, 3]), key: KEY }),
        frame({ opcode: 2, fin: false, payload: new Uint8Array([4]), key: KEY }),
        frame({ opcode: 0, fin: true, payload: new Uint8Array(0), key: KEY }),
        frame({ opcode: 8, payload: new Uint8Array([0x03, 0xe8]), key: KEY }),
      ),
    );
    await until(() => closes.length > 0);
    expect(got).toEqual([
      ["ab", false, true, false],
      ["cd", false, false, false],
      ["e", false, false, true],
      [[1, 2, 3], true, true, true],
      [[4], true, true, false],
      [[], true, false, true],
    ]);
    expect(events).toEqual(["ping"]);
    expect(closes).toEqual([[1000, "", true]]);
    sock.destroy();
  });
});

describe("clients with fragments: true against ws's server", () => {
  let server: WsServer;
  let url: string;
  beforeAll(async () => {
    server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
    await new Promise((r) => server.once("listening", r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Answers "frag" with a fragmented text then a fragmented binary message, "drop" by terminating.
    server.on("connection", (ws) =>
      ws.on("message", (d) => {
        if (String(d) === "drop") return ws.terminate();
        ws.send("hél", { fin: false });
        ws.send("lo", { fin: true });
        ws.send(Buffer.of(7), { binary: true, fin: false });
        ws.send(Buffer.of(8, 9), { binary: true, fin: true });
        ws.close(4000, "done");
      }),
    );
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const want: Piece[] = [
    ["hél", false, true, false],
    ["lo", false, false, true],
    [[7], true, true, false],
    [[8, 9], true, false, true],
  ];

  it("WHATWG client: a non-standard 'fragment' event per frame, no 'message', the core's wasClean", async () => {
    const ws = new WebSocketClient(url, undefined, { fragments: true, perMessageDeflate: false });
    const got: Piece[] = [];
    let messages = 0;
    ws.onmessage = () => messages++;
    ws.addEventListener("fragment", (e) => {
      const f = e as unknown as { data: ArrayBuffer; binary: boolean; first: boolean; last: boolean };
      expect(f.data).toBeInstanceOf(ArrayBuffer);
      got.push(piece(new Uint8Array(f.data), f.binary, f.first, f.last));
    });
    let onfragment = 0;
    (ws as unknown as { onfragment: () => void }).onfragment = () => onfragment++;
    ws.onopen = () => ws.send("frag");
    const close = await new Promise<CloseEvent>((r) => (ws.onclose = (e) => r(e as CloseEvent)));
    expect(got).toEqual(want);
    expect(onfragment).toBe(4);
    expect(messages).toBe(0);
    expect([close.code, close.reason, close.wasClean]).toEqual([4000, "done", true]);

    const dropped = new WebSocketClient(url);
    dropped.onopen = () => dropped.send("drop");
    const abnormal = await new Promise<CloseEvent>((r) => (dropped.onclose = (e) => r(e as CloseEvent)));
    expect([abnormal.code, abnormal.wasClean]).toEqual([1006, false]);
  });

  it("overStreams (WebSocketConnection) over a TCP socket's web streams", async () => {
    const u = new URL(url);
    const tcp = net.connect(Number(u.port), u.hostname);
    await new Promise((r) => tcp.once("connect", r));
    const pair = Duplex.toWeb(tcp) as unknown as StreamPair;
    const ws = overStreams(pair, Connection.client(url, { fragments: true }));
    const got: Piece[] = [];
    let messages = 0;
    ws.on("fragment", (data, isBinary, first, last) => got.push(piece(data, isBinary, first, last)));
    ws.on("message", () => messages++);
    ws.on("open", () => ws.send("frag"));
    ws.driver.pump(); // sends the upgrade request
    const close = await new Promise<unknown[]>((r) => ws.on("close", (code, reason, wasClean) => r([code, reason, wasClean])));
    expect(got).toEqual(want);
    expect(messages).toBe(0);
    expect(close).toEqual([4000, "done", true]);
  });
});
