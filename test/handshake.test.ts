// RFC 6455 §4: the opening handshake in both roles, through the sans-I/O connection.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { Connection } from "../src/protocol/connection.js";
import { acceptKey, sha1, base64, isValidClientKey } from "../src/protocol/handshake/accept.js";
import { concat, frame, KEY } from "./helpers/frames.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (chunks: Uint8Array[]) => new TextDecoder().decode(concat(...chunks));
const KEY16 = "dGhlIHNhbXBsZSBub25jZQ==";

function request(headers: Record<string, string | undefined>, startLine = "GET /chat HTTP/1.1"): Uint8Array {
  const base: Record<string, string | undefined> = {
    Host: "server.example.com",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": KEY16,
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = [startLine, ...Object.entries(base).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}`)];
  return enc(lines.join("\r\n") + "\r\n\r\n");
}

describe("Sec-WebSocket-Accept", () => {
  it("matches RFC 6455's worked example and SHA-1 test vectors", () => {
    expect(acceptKey(KEY16)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect(base64(sha1(enc("abc")))).toBe("qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    expect(base64(sha1(enc("")))).toBe("2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    for (const n of [55, 56, 63, 64, 1000]) {
      expect(base64(sha1(enc("a".repeat(n))))).toBe(createHash("sha1").update("a".repeat(n)).digest("base64"));
    }
  });
  it("accepts only base64 of 16 bytes as a client key", () => {
    expect(isValidClientKey(KEY16)).toBe(true);
    expect(isValidClientKey("dGhlIHNhbXBsZSBub25jZQ=")).toBe(false);
    expect(isValidClientKey("dGhlIHNhbXBsZSBub25jZR==")).toBe(false);
    expect(isValidClientKey("")).toBe(false);
  });
});

describe("server handshake (§4.2.1)", () => {
  it("accepts a valid request, fed whole or byte by byte, and keeps bytes after the head", () => {
    for (const byteAtATime of [false, true]) {
      const c = Connection.server();
      const bytes = concat(request({ "Sec-WebSocket-Protocol": "a, chat", Connection: "keep-alive, Upgrade" }), frame({ opcode: 1, payload: "early", key: KEY }));
      if (byteAtATime) for (const b of bytes) c.receive(Uint8Array.of(b));
      else c.receive(bytes);
      const [ev] = c.takeEvents();
      expect(ev).toMatchObject({ type: "request", request: { path: "/chat", host: "server.example.com", protocols: ["a", "chat"] } });
      c.accept({ protocol: "chat" });
      expect(c.takeEvents()).toEqual([
        { type: "open", protocol: "chat", extensions: "" },
        { type: "message", data: "early", binary: false },
      ]);
      const res = dec(c.takeOutgoing());
      expect(res).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(res).toContain("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
      expect(res).toContain("Sec-WebSocket-Protocol: chat\r\n");
    }
  });

  it("matches header names and the upgrade tokens in any case", () => {
    const c = Connection.server();
    c.receive(enc(`GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\nconnection: upgrade\r\nsec-websocket-key: ${KEY16}\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n`));
    expect(c.takeEvents()[0]!.type).toBe("request");
  });

  const bad: [string, number, Uint8Array][] = [
    ["POST", 405, request({}, "POST /chat HTTP/1.1")],
    ["HTTP/1.0", 400, request({}, "GET /chat HTTP/1.0")],
    ["no Host", 400, request({ Host: undefined })],
    ["no Upgrade", 400, request({ Upgrade: undefined })],
    ["Upgrade: h2c", 400, request({ Upgrade: "h2c" })],
    ["no upgrade token in Connection", 400, request({ Connection: "keep-alive" })],
    ["no key", 400, request({ "Sec-WebSocket-Key": undefined })],
    ["a 15-byte key", 400, request({ "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAA" })],
    ["version 8", 426, request({ "Sec-WebSocket-Version": "8" })],
    ["a TLS hello", 405, enc("\x16\x03\x01 garbage\r\n\r\n")],
  ];
  it.each(bad)("rejects %s with %i", (_n, status, bytes) => {
    const c = Connection.server();
    c.receive(bytes);
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { status } }, { type: "close", code: 1006 }]);
    const res = dec(c.takeOutgoing());
    expect(res.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    if (status === 426) expect(res).toContain("Sec-WebSocket-Version: 13\r\n");
    expect(c.transportShouldClose).toBe(true);
  });

  it("answers 431 to an oversized head or too many headers, without waiting for the end", () => {
    const big = Connection.server({ maxHandshakeBytes: 1024 });
    big.receive(enc("GET / HTTP/1.1\r\nX: " + "a".repeat(2000)));
    expect(big.takeEvents()[0]).toMatchObject({ type: "error", error: { status: 431 } });
    const many = Connection.server({ maxHeaders: 10 });
    many.receive(request(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-${i}`, "v"]))));
    expect(many.takeEvents()[0]).toMatchObject({ type: "error", error: { status: 431 } });
  });

  // Linear time: at these sizes a quadratic parse takes minutes, and the test's timeout fails it
  // (a guard, not a measurement).
  it("parses a pathological header in linear time", () => {
    const c = Connection.server({ maxHandshakeBytes: 1 << 20 });
    const extensions = "a;".repeat(200_000);
    c.receive(request({ "Sec-WebSocket-Protocol": ` ,${",".repeat(500_000)} chat ,, , superchat,`, "Sec-WebSocket-Extensions": extensions }));
    const [ev, ...rest] = c.takeEvents();
    expect(rest).toEqual([]);
    expect(ev).toMatchObject({ type: "request", request: { protocols: ["chat", "superchat"], extensions: [extensions] } });
  }, 10_000);

  it("reject() sends the status and nothing of the request back", () => {
    const c = Connection.server();
    c.receive(request({ Origin: "<script>" }));
    c.takeEvents();
    c.reject(403);
    const res = dec(c.takeOutgoing());
    expect(res).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(res).not.toContain("script");
  });

  it("refuses to select a subprotocol the client did not offer", () => {
    const c = Connection.server();
    c.receive(request({ "Sec-WebSocket-Protocol": "a" }));
    expect(() => c.accept({ protocol: "b" })).toThrow(TypeError);
  });
});

describe("client handshake (§4.1)", () => {
  function clientAndKey(protocols?: string[]) {
    const c = Connection.client("ws://example.com:8080/path?x=1", { protocols, origin: "http://example.com", headers: { "X-Custom": "1" } });
    const req = dec(c.takeOutgoing());
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(req)![1]!;
    return { c, req, key };
  }
  const response = (key: string, extra = "") => enc(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${extra}\r\n`);

  it("builds a valid request with a fresh random key", () => {
    const a = clientAndKey(["chat", "v2"]);
    const b = clientAndKey();
    expect(a.req).toMatch(/^GET \/path\?x=1 HTTP\/1\.1\r\n/);
    expect(a.req).toContain("Host: example.com:8080\r\n");
    expect(a.req).toContain("Sec-WebSocket-Version: 13\r\n");
    expect(a.req).toContain("Sec-WebSocket-Protocol: chat, v2\r\n");
    expect(a.req).toContain("Origin: http://example.com\r\n");
    expect(a.req).toContain("X-Custom: 1\r\n");
    expect(isValidClientKey(a.key)).toBe(true);
    expect(a.key).not.toBe(b.key);
  });

  it("opens on a valid 101 and keeps frames that arrive with it", () => {
    const { c, key } = clientAndKey(["chat"]);
    c.receive(concat(response(key, "Sec-WebSocket-Protocol: chat\r\n"), frame({ opcode: 1, payload: "hi" })));
    expect(c.takeEvents()).toEqual([{ type: "open", protocol: "chat", extensions: "" }, { type: "message", data: "hi", binary: false }]);
  });

  const badResponses: [string, (key: string) => Uint8Array][] = [
    ["a 200", () => enc("HTTP/1.1 200 OK\r\n\r\n")],
    ["a wrong accept", () => enc(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(KEY16)}\r\n\r\n`)],
    ["no Upgrade", (k) => enc(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(k)}\r\n\r\n`)],
    ["an unrequested subprotocol", (k) => response(k, "Sec-WebSocket-Protocol: other\r\n")],
  ];
  it.each(badResponses)("fails on %s", (_n, make) => {
    const { c, key } = clientAndKey(["chat"]);
    c.receive(make(key));
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { name: "HandshakeError" } }, { type: "close", code: 1006 }]);
    expect(c.transportShouldClose).toBe(true);
  });

  it("times out a handshake that never completes", () => {
    let now = 0;
    const c = Connection.server({ clock: { now: () => now }, handshakeTimeout: 100 });
    c.receive(enc("GET / HTTP/1.1\r\n"));
    expect(c.nextDeadline()).toBe(100);
    now = 100;
    c.tick();
    expect(c.takeEvents()).toMatchObject([{ type: "error", error: { code: "WS_ERR_HANDSHAKE_TIMEOUT" } }, { type: "close" }]);
    expect(c.transportShouldClose).toBe(true);
  });
});
