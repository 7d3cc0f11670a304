// wss:// over node:tls, both ways, with a self-signed test certificate (test/fixtures, CN=localhost,
// for tests only).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
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
