// Transport errors while a client connects: 'error' with the original error (its code), then
// 'close' 1006, like ws; through the WHATWG class an 'error' Event, then 'close'. Real sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import * as tls from "node:tls";
import { connect, WebSocketClient, type ClientOptions } from "../src/node.js";

const fixture = (f: string) => readFileSync(join(import.meta.dirname, "fixtures", f));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** What the client reports, in order, until 'close'. */
function outcome(url: string, options?: ClientOptions): Promise<{ events: string[]; error?: NodeJS.ErrnoException }> {
  const ws = connect(url, options);
  const events: string[] = [];
  let error: NodeJS.ErrnoException | undefined;
  ws.on("open", () => events.push("open"));
  ws.on("error", (e) => {
    events.push("error");
    error = e as NodeJS.ErrnoException;
  });
  return new Promise((resolve) => ws.on("close", (code) => (events.push(`close ${code}`), resolve({ events, error }))));
}

describe("client transport errors (Node)", () => {
  it("connection refused: 'error' ECONNREFUSED, then close 1006", async () => {
    const { events, error } = await outcome(`ws://127.0.0.1:${await freePort()}/`);
    expect(events).toEqual(["error", "close 1006"]);
    expect(error).toBeInstanceOf(Error);
    expect(error!.code).toBe("ECONNREFUSED");
    expect(error!.syscall).toBe("connect");
  });

  it("unresolvable host: 'error' ENOTFOUND, then close 1006", async () => {
    const { events, error } = await outcome("ws://nonexistent.invalid/");
    expect(events).toEqual(["error", "close 1006"]);
    // RFC 6761: .invalid never resolves; a machine with no DNS at all answers EAI_AGAIN.
    expect(["ENOTFOUND", "EAI_AGAIN"]).toContain(error!.code);
  });

  it("no 'error' listener: nothing thrown, close 1006", async () => {
    const ws = connect(`ws://127.0.0.1:${await freePort()}/`);
    const [code] = await new Promise<[number]>((r) => ws.once("close", (c) => r([c])));
    expect(code).toBe(1006);
  });

  describe("wss:// with an untrusted certificate", () => {
    let server: tls.Server;
    let url: string;
    beforeAll(async () => {
      server = tls.createServer({ cert: fixture("test-cert.pem"), key: fixture("test-key.pem") }, (s) => s.on("error", () => {}));
      server.on("tlsClientError", () => {});
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("'error' with the certificate error, then close 1006", async () => {
      const { events, error } = await outcome(url);
      expect(events).toEqual(["error", "close 1006"]);
      expect(["DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN"]).toContain(error!.code);
    });

    it("a name the certificate does not cover: 'error' ERR_TLS_CERT_ALTNAME_INVALID, then close 1006", async () => {
      const { events, error } = await outcome(url, { tls: { ca: fixture("test-cert.pem"), servername: "elsewhere.test" } });
      expect(events).toEqual(["error", "close 1006"]);
      expect(error!.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    });
  });

  it("WHATWG class: an 'error' Event (readyState CLOSED, as in browsers), then 'close' 1006 not clean", async () => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${await freePort()}/`);
    const seen: string[] = [];
    ws.onerror = (ev) => seen.push(`on${ev.type} readyState ${ws.readyState}`);
    ws.addEventListener("error", (ev) => seen.push(ev.constructor.name === "Event" ? "error Event" : "error ?"));
    const close = await new Promise<CloseEvent>((r) => ws.addEventListener("close", (ev) => r(ev as CloseEvent)));
    expect(seen).toEqual(["onerror readyState 3", "error Event"]);
    expect(close.code).toBe(1006);
    expect(close.wasClean).toBe(false);
  });
});
