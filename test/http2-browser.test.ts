// Headless Chromium's own WebSocket over HTTP/2 (RFC 8441) to our Node WebSocketServer: the page is
// served over HTTPS by a node:http2 createSecureServer (self-signed test certificate, accepted with
// --ignore-certificate-errors), and `new WebSocket("wss://same-origin/ws")` rides that HTTP/2
// session as an extended CONNECT stream, which the server checks it did (not an HTTP/1.1 upgrade).
// The browser is found as in browser.test.ts (test/helpers/chromium.ts); WASMSOCKET_REQUIRE_BROWSER=1
// turns a missing browser into a failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { chromium, type Browser, type Page } from "playwright-core";
import { WebSocketServer, type WebSocket as ServerSocket } from "../src/node.js";
import { browserRequired, findChromium } from "./helpers/chromium.js";
import { closeServer } from "./helpers/servers.js";

const fixture = (f: string) => readFileSync(join(import.meta.dirname, "fixtures", f));

const found = await findChromium();
const skip = !found.ok && !browserRequired();
if (!found.ok) console.warn(`browser tests ${skip ? "SKIPPED" : "FAIL"}: no Chromium: ${found.reason}${skip ? " (WASMSOCKET_REQUIRE_BROWSER=1 makes this a failure)" : ""}`);

/** The browser's WebSocket, as the page functions below use it (this file is typed for Node). */
interface BrowserSocket {
  binaryType: string;
  readonly extensions: string;
  onopen: ((e: unknown) => void) | null;
  onerror: ((e: unknown) => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

interface Seen {
  httpVersion: string;
  method: string;
  extensions: string;
  bytesIn: number;
  close?: [number, string];
}

describe.skipIf(skip)(`WebSocket over HTTP/2 in headless Chromium (${found.ok ? `${found.source}: ${found.version}` : "none"})`, () => {
  let browser: Browser;
  let page: Page;
  let server: http2.Http2SecureServer;
  let wss: WebSocketServer;
  let origin: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    if (!found.ok) return; // required: each test fails with the reason
    server = http2.createSecureServer({ cert: fixture("test-cert.pem"), key: fixture("test-key.pem"), allowHTTP1: true }, (req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><title>h2 ${req.httpVersion}</title>`);
    });
    wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: true });
    wss.on("connection", (ws: ServerSocket, req) => {
      const entry: Seen = { httpVersion: req.httpVersion, method: req.method!, extensions: ws.extensions, bytesIn: 0 };
      seen.push(entry);
      (ws as unknown as { _socket: Duplex })._socket.on("data", (d: Buffer) => (entry.bytesIn += d.length));
      ws.on("message", (data, isBinary) => {
        if (String(data) === "close please") return ws.close(4321, "server says bye");
        ws.send(data, { binary: isBinary });
      });
      ws.on("close", (code, reason) => (entry.close = [code, String(reason)]));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ ...found.launchOptions, args: [...found.launchOptions.args, "--ignore-certificate-errors"] });
    page = await browser.newPage();
    await page.goto(origin + "/");
  });
  afterAll(async () => {
    await browser?.close();
    if (wss) {
      for (const c of wss.clients) c.terminate();
      await closeServer(wss);
    }
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  function requireBrowser(): void {
    if (!found.ok) throw new Error(`no Chromium, and WASMSOCKET_REQUIRE_BROWSER is set: ${found.reason}`);
  }

  it("loads the page over HTTP/2", async () => {
    requireBrowser();
    expect(await page.title()).toBe("h2 2.0");
  });

  it("opens the WebSocket as an HTTP/2 extended CONNECT: text, binary, compressed and 1 MiB round-trips, clean close both sides", async () => {
    requireBrowser();
    const n = seen.length;
    const result = await page.evaluate(async (url) => {
      const ws = new (globalThis as unknown as { WebSocket: new (url: string) => BrowserSocket }).WebSocket(url);
      ws.binaryType = "arraybuffer";
      const inbox: unknown[] = [];
      const waiters: ((v: unknown) => void)[] = [];
      ws.onmessage = (e) => (waiters.length ? waiters.shift()!(e.data) : inbox.push(e.data));
      const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r)));
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("WebSocket error before open"));
      });
      ws.send("hello over h2");
      const text = await next();
      ws.send(new Uint8Array([0, 1, 2, 254, 255]));
      const bin = Array.from(new Uint8Array((await next()) as ArrayBuffer));
      const compressible = "abcdefgh".repeat(64 * 1024); // 512 KiB
      ws.send(compressible);
      const compressedOk = (await next()) === compressible;
      const big = new Uint8Array(1024 * 1024);
      for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
      ws.send(big);
      const back = new Uint8Array((await next()) as ArrayBuffer);
      const bigOk = back.length === big.length && back.every((v, i) => v === big[i]);
      const closed = new Promise<[number, string, boolean]>((r) => (ws.onclose = (e) => r([e.code, e.reason, e.wasClean])));
      ws.send("close please");
      return { text, bin, compressedOk, bigOk, extensions: ws.extensions, close: await closed };
    }, origin.replace("https:", "wss:") + "/ws");
    expect(result).toEqual({
      text: "hello over h2",
      bin: [0, 1, 2, 254, 255],
      compressedOk: true,
      bigOk: true,
      extensions: expect.stringContaining("permessage-deflate"),
      close: [4321, "server says bye", true],
    });
    const s = seen[n]!;
    // The server saw an HTTP/2 extended CONNECT, not an HTTP/1.1 GET with Upgrade.
    expect([s.httpVersion, s.method]).toEqual(["2.0", "CONNECT"]);
    expect(s.extensions).toContain("permessage-deflate");
    // 512 KiB of text plus 1 MiB of random bytes came in: the text compressed, so well under 1.5 MiB.
    expect(s.bytesIn).toBeGreaterThan(1024 * 1024);
    expect(s.bytesIn).toBeLessThan(1024 * 1024 + 64 * 1024);
    for (let t = 0; t < 100 && !s.close; t++) await new Promise((r) => setTimeout(r, 20));
    expect(s.close).toEqual([4321, "server says bye"]);
  });

  it("with no HTTP/2 session to the origin yet, Chromium opens the WebSocket over HTTP/1.1 (allowHTTP1 serves it)", async () => {
    requireBrowser();
    const n = seen.length;
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const blank = await context.newPage();
      const echoed = await blank.evaluate(async (url) => {
        const ws = new (globalThis as unknown as { WebSocket: new (url: string) => BrowserSocket }).WebSocket(url);
        await new Promise((r) => (ws.onopen = r));
        ws.send("fresh");
        const data = await new Promise((r) => (ws.onmessage = (e) => r(e.data)));
        ws.close();
        return data;
      }, origin.replace("https:", "wss:") + "/ws");
      expect(echoed).toBe("fresh");
      expect(seen[n]!.httpVersion).toBe("1.1");
    } finally {
      await context.close();
    }
  });

  it("a close from the browser reaches the server with its code", async () => {
    requireBrowser();
    const n = seen.length;
    const code = await page.evaluate(async (url) => {
      const ws = new (globalThis as unknown as { WebSocket: new (url: string) => BrowserSocket }).WebSocket(url);
      await new Promise((r) => (ws.onopen = r));
      const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));
      ws.close(4000, "browser says bye");
      return closed;
    }, origin.replace("https:", "wss:") + "/ws");
    expect(code).toBe(4000);
    for (let t = 0; t < 100 && !seen[n]?.close; t++) await new Promise((r) => setTimeout(r, 20));
    expect(seen[n]!.httpVersion).toBe("2.0");
    expect(seen[n]!.close).toEqual([4000, "browser says bye"]);
  });
});
