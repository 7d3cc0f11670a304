// WebSockets over HTTP/2 (RFC 8441) on our Node WebSocketServer: node:http2's own client sends the
// extended CONNECT and ws's framing runs over the stream (helpers/h2-client.ts); ws's own client
// talks HTTP/1.1 to the same TLS port (allowHTTP1). Loopback only, every wait bounded.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import WS from "ws";
import { WebSocketServer, type WebSocket } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";
import { closed, h2session, h2ws, nextMessage } from "./helpers/h2-client.js";

const fixture = (f: string) => readFileSync(join(import.meta.dirname, "fixtures", f));
const cert = fixture("test-cert.pem");
const key = fixture("test-key.pem");

function listen(server: http2.Http2Server | http2.Http2SecureServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

/** `p`, or a failure naming `what` after `ms` (every wait in this file is bounded). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

function echo(ws: WebSocket): void {
  ws.on("message", (d, b) => ws.send(d, { binary: b }));
}

async function stop(wss: WebSocketServer, server: http2.Http2Server | http2.Http2SecureServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  await closeServer(wss);
  await new Promise((r) => {
    server.close(r);
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

describe("HTTP/2 over TLS (createSecureServer, allowHTTP1)", () => {
  let server: http2.Http2SecureServer;
  let wss: WebSocketServer;
  let port: number;
  let session: http2.ClientHttp2Session;
  const sessions: http2.ClientHttp2Session[] = [];
  const seen: { httpVersion: string; method: string; url: string; remote: string | undefined }[] = [];

  const serverCloses: [string, number][] = [];
  const highWaterMarks: number[] = [];
  let auth: WebSocketServer;
  let flood: WebSocketServer;
  let flooded: WebSocket | undefined;

  beforeAll(async () => {
    // No enableConnectProtocol here: the WebSocketServer sets it for the sessions to come.
    server = http2.createSecureServer({ cert, key, allowHTTP1: true });
    wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: true, handleProtocols: (p) => (p.has("chat") ? "chat" : false) });
    wss.on("connection", (ws, req) => {
      seen.push({ httpVersion: req.httpVersion, method: req.method!, url: req.url!, remote: req.socket.remoteAddress });
      highWaterMarks.push(ws.socket!.writableHighWaterMark);
      echo(ws);
      ws.on("close", (code) => serverCloses.push([req.headers["x-tag"] as string, code]));
    });
    // A second server on the same http2 server, for another path: its hook refuses, later.
    auth = new WebSocketServer({ server, path: "/auth", verifyClient: async () => (await new Promise((r) => setTimeout(r, 5)), false) });
    // A third: on "flood", sends `n` messages of 64 KiB to a client that does not read.
    flood = new WebSocketServer({ server, path: "/flood" });
    flood.on("connection", (ws) => {
      flooded = ws;
      ws.on("message", (d) => {
        for (let i = 0; i < Number(d); i++) ws.send(Buffer.alloc(64 * 1024, i));
        ws.send("end");
      });
    });
    // Streams that are not WebSockets are the application's.
    server.on("stream", (stream, headers) => {
      if (headers[":protocol"] === "websocket") return;
      stream.respond({ ":status": 418 });
      stream.end("app");
    });
    port = await listen(server);
    session = await h2session(`https://localhost:${port}`, { ca: cert });
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.destroy();
  });
  afterAll(async () => {
    session.destroy();
    await closeServer(auth);
    for (const c of flood.clients) c.terminate();
    await closeServer(flood);
    await stop(wss, server);
  });

  it("advertises SETTINGS_ENABLE_CONNECT_PROTOCOL", () => {
    expect(session.remoteSettings.enableConnectProtocol).toBe(true);
  });

  it("echoes text and binary on 20 WebSockets of one session, each closing with its own code", async () => {
    const n = seen.length;
    const all = await Promise.all(Array.from({ length: 20 }, () => h2ws(session, "/ws?x=1")));
    expect(all.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(all.every((r) => r.headers["sec-websocket-accept"] === undefined)).toBe(true);
    await Promise.all(
      all.map(async ({ ws }, i) => {
        ws!.send(`text ${i}`);
        const [t, tb] = await nextMessage(ws!);
        expect([String(t), tb]).toEqual([`text ${i}`, false]);
        ws!.send(Buffer.from([i, 0, 255]));
        const [b, bb] = await nextMessage(ws!);
        expect([[...b], bb]).toEqual([[i, 0, 255], true]);
        const done = closed(ws!);
        ws!.close(4000 + i, `bye ${i}`);
        expect(await done).toEqual([4000 + i, `bye ${i}`]);
      }),
    );
    expect(seen.slice(n).every((s) => s.httpVersion === "2.0" && s.method === "CONNECT" && s.url === "/ws?x=1" && s.remote === "127.0.0.1")).toBe(true);
    // One flow-control window may wait in a stream before a send counts as backpressure (Node 20's 16 KiB stalled pipelined echoes).
    expect(highWaterMarks.slice(n).every((h) => h >= 64 * 1024)).toBe(true);
    expect(session.closed).toBe(false);
  });
  it("negotiates permessage-deflate as over HTTP/1.1, and compresses both ways", async () => {
    const { status, headers, ws } = await h2ws(session, "/ws", { deflate: true });
    expect(status).toBe(200);
    expect(headers["sec-websocket-extensions"]).toMatch(/^permessage-deflate/);
    const big = "compressible ".repeat(10_000);
    const sent: number[] = [];
    const stream = (ws as unknown as { _socket: import("node:stream").Duplex })._socket;
    stream.on("data", (d: Buffer) => sent.push(d.length));
    ws!.send(big);
    const [back] = await within(nextMessage(ws!), 5000, "deflated echo");
    expect(String(back)).toBe(big);
    // The echo came compressed: far fewer bytes on the stream than the 130 000-byte message.
    expect(sent.reduce((a, b) => a + b, 0)).toBeLessThan(big.length / 10);
    ws!.close();
  });

  it("picks the subprotocol with handleProtocols", async () => {
    const { status, headers, ws } = await h2ws(session, "/ws", { protocols: ["other", "chat"] });
    expect([status, headers["sec-websocket-protocol"], ws!.protocol]).toEqual([200, "chat", "chat"]);
    ws!.close();
  });

  it("refuses a wrong sec-websocket-version with 426 and a missing one with 400, naming version 13", async () => {
    const wrong = await h2ws(session, "/ws", { headers: { "sec-websocket-version": "8" } });
    expect([wrong.status, wrong.headers["sec-websocket-version"]]).toEqual([426, "13"]);
    const missing = await h2ws(session, "/ws", { headers: { "sec-websocket-version": "" } });
    expect([missing.status, missing.headers["sec-websocket-version"]]).toEqual([400, "13"]);
    expect(session.closed).toBe(false);
  });

  it("refuses when an asynchronous verifyClient says no (401), on another server's path of the same http2 server", async () => {
    const r = await h2ws(session, "/auth");
    expect([r.status, r.body]).toEqual([401, "Unauthorized"]);
    expect(auth.clients.size).toBe(0);
  });

  it("leaves a CONNECT with another :protocol to the application", async () => {
    const r = await h2ws(session, "/ws", { headers: { ":protocol": "not-websocket" } });
    expect([r.status, r.body]).toEqual([418, "app"]);
  });

  it("after the close handshake, a client that does not end its side gets RST_STREAM(NO_ERROR), and the server socket closes cleanly", async () => {
    // Chromium does this: it never sends END_STREAM after its close frame.
    const r = await h2ws(session, "/ws", { headers: { "x-tag": "no-end" } });
    r.ws!.removeAllListeners("close");
    const stream = r.stream;
    // ws's listeners off: it would end our side on the server's END_STREAM.
    for (const e of ["data", "end"]) stream.removeAllListeners(e);
    const got: Buffer[] = [];
    stream.on("data", (d: Buffer) => got.push(d));
    const rst = within(new Promise<number>((res) => stream.once("close", () => res(stream.rstCode!))), 2000, "the server's RST_STREAM");
    // A masked close frame, 4003, and no END_STREAM.
    stream.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x0f, 0xa3]));
    expect(await rst).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect([...Buffer.concat(got)]).toEqual([0x88, 0x02, 0x0f, 0xa3]);
    for (let t = 0; t < 50 && !serverCloses.some(([tag]) => tag === "no-end"); t++) await new Promise((res) => setTimeout(res, 20));
    expect(serverCloses.filter(([tag]) => tag === "no-end")).toEqual([["no-end", 4003]]);
  });

  it("serves ws's client over HTTP/1.1 on the same TLS port (allowHTTP1)", async () => {
    const n = seen.length;
    const ws = new WS(`wss://localhost:${port}/ws`, { ca: cert });
    await within(new Promise((r) => ws.once("open", r)), 5000, "ws open");
    ws.send("over h1");
    const [d] = await within(nextMessage(ws), 5000, "h1 echo");
    expect(String(d)).toBe("over h1");
    expect(seen[n]!.httpVersion).toBe("1.1");
    const done = closed(ws);
    ws.close(4001);
    expect((await done)[0]).toBe(4001);
  });

  it("a RST_STREAM in the middle of a message is 1006 for that WebSocket only", async () => {
    const s = await h2session(`https://localhost:${port}`, { ca: cert });
    sessions.push(s);
    const a = await h2ws(s, "/ws", { headers: { "x-tag": "cut" } });
    const b = await h2ws(s, "/ws", { headers: { "x-tag": "kept" } });
    // Half of a masked 1000-byte text frame, then RST_STREAM(CANCEL).
    const header = Buffer.from([0x81, 0xfe, 0x03, 0xe8, 1, 2, 3, 4]);
    a.stream.write(Buffer.concat([header, Buffer.alloc(500, 0x61)]));
    await new Promise((r) => setTimeout(r, 20));
    a.stream.close(http2.constants.NGHTTP2_CANCEL);
    for (let t = 0; t < 100 && !serverCloses.some(([tag]) => tag === "cut"); t++) await new Promise((r) => setTimeout(r, 20));
    expect(serverCloses.filter(([tag]) => tag === "cut")).toEqual([["cut", 1006]]);
    b.ws!.send("still here");
    expect(String((await within(nextMessage(b.ws!), 5000, "other stream's echo"))[0])).toBe("still here");
    expect(serverCloses.some(([tag]) => tag === "kept")).toBe(false);
    b.ws!.close();
  });

  it("a GOAWAY from the client closes its session's WebSockets with 1001; its session's end is 1006", async () => {
    const s = await h2session(`https://localhost:${port}`, { ca: cert });
    sessions.push(s);
    const a = await h2ws(s, "/ws", { headers: { "x-tag": "goaway" } });
    const done = closed(a.ws!);
    s.goaway(http2.constants.NGHTTP2_NO_ERROR);
    expect((await within(done, 5000, "close after GOAWAY"))[0]).toBe(1001);
    const s2 = await h2session(`https://localhost:${port}`, { ca: cert });
    sessions.push(s2);
    const c = await h2ws(s2, "/ws", { headers: { "x-tag": "gone" } });
    const other = await h2ws(session, "/ws", { headers: { "x-tag": "other-session" } });
    s2.destroy();
    for (let t = 0; t < 100 && !serverCloses.some(([tag]) => tag === "gone"); t++) await new Promise((r) => setTimeout(r, 20));
    expect(serverCloses.filter(([tag]) => tag === "gone" || tag === "goaway")).toEqual([["goaway", 1001], ["gone", 1006]]);
    void c;
    other.ws!.send("alive");
    expect(String((await within(nextMessage(other.ws!), 5000, "echo on another session"))[0])).toBe("alive");
    other.ws!.close();
  });

  it("flow control is backpressure: a stream that is not read holds its own sends, not the other streams'", async () => {
    const s = await h2session(`https://localhost:${port}`, { ca: cert });
    sessions.push(s);
    const slow = await h2ws(s, "/flood");
    // The client stops reading this stream: HTTP/2 flow control stops the server's sends after one window.
    slow.stream.pause();
    slow.ws!.send("64");
    const others = await Promise.all(Array.from({ length: 5 }, () => h2ws(s, "/ws")));
    await Promise.all(
      others.map(async ({ ws }, i) => {
        for (let k = 0; k < 20; k++) {
          ws!.send(`m${i}.${k}`);
          expect(String((await within(nextMessage(ws!), 5000, `echo ${i}.${k} beside a stalled stream`))[0])).toBe(`m${i}.${k}`);
        }
        ws!.close();
      }),
    );
    // The 4 MiB the server queued for the stalled stream still wait for its window (64 KiB)...
    expect(flooded!.bufferedAmount).toBeGreaterThan(3 * 1024 * 1024);
    const messages: Buffer[] = [];
    slow.ws!.on("message", (d: Buffer) => messages.push(d));
    slow.stream.resume();
    for (let t = 0; t < 250 && messages.length < 65; t++) await new Promise((r) => setTimeout(r, 20));
    // ...and all arrive, in order, once it reads.
    expect(messages.length).toBe(65);
    expect(messages.slice(0, 64).every((m, i) => m.length === 65536 && m[0] === i)).toBe(true);
    expect(String(messages[64])).toBe("end");
    expect(flooded!.bufferedAmount).toBe(0);
    slow.ws!.close();
  });
});

describe("HTTP/2 edge cases", () => {
  it("answers 400 to a WebSocket stream for a path none of its servers serves (and nothing else listens)", async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, path: "/a" });
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      expect((await h2ws(s, "/b")).status).toBe(400);
      expect((await h2ws(s, "/a")).status).toBe(200);
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("options apply as over HTTP/1.1: maxPayload closes with 1009, a ping is answered", async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, maxPayload: 1000 });
    wss.on("connection", echo);
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const { ws } = await h2ws(s, "/");
      const pong = within(new Promise<Buffer>((r) => ws!.once("pong", r)), 5000, "pong");
      ws!.ping("p1");
      expect(String(await pong)).toBe("p1");
      const done = closed(ws!);
      ws!.send(Buffer.alloc(2000));
      expect((await within(done, 5000, "1009"))[0]).toBe(1009);
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("beside the compatibility API ('request' listener): WebSockets work, other CONNECTs still get node's 405", async () => {
    const server = http2.createServer((_req, res) => res.end("page"));
    const wss = new WebSocketServer({ server });
    let request: unknown;
    wss.on("connection", (ws, req) => {
      request = req;
      echo(ws);
    });
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const { ws } = await h2ws(s, "/x");
      ws!.send("compat");
      expect(String((await within(nextMessage(ws!), 5000, "echo"))[0])).toBe("compat");
      expect(request).toBeInstanceOf(http2.Http2ServerRequest);
      const tunnel = s.request({ ":method": "CONNECT", ":authority": "example.com:443" }, { endStream: false });
      tunnel.on("error", () => undefined);
      expect(await within(new Promise((r) => tunnel.once("response", (h) => r(h[":status"]))), 5000, "plain CONNECT")).toBe(405);
      ws!.close();
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("response headers: `headers` option and 'headers' listeners add to the 200; a header HTTP/2 cannot carry fails closed with 500", async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, headers: { "x-served-by": "h2" } });
    wss.on("headers", (lines, req) => {
      lines.push("Set-Cookie: a=1");
      if (req.url === "/bad") lines.push("Connection: keep-alive");
    });
    wss.on("connection", echo);
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const ok = await h2ws(s, "/good");
      expect([ok.status, ok.headers["x-served-by"], ok.headers["set-cookie"]]).toEqual([200, "h2", ["a=1"]]);
      expect((await h2ws(s, "/bad")).status).toBe(500);
      expect(wss.clients.size).toBe(1);
      ok.ws!.close();
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("a verifyClient that never answers is cut by handshakeTimeout (RST_STREAM), the session lives on", async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, handshakeTimeout: 100, verifyClient: (_info, _cb) => undefined });
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      await expect(h2ws(s, "/")).rejects.toThrow(/rst 8/);
      expect(s.closed || s.destroyed).toBe(false);
      expect(wss.clients.size).toBe(0);
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("publish reaches subscribers over HTTP/2 and HTTP/1.1 alike (one TLS port)", async () => {
    const server = http2.createSecureServer({ cert, key, allowHTTP1: true });
    const wss = new WebSocketServer({ server });
    wss.on("connection", (ws) => {
      ws.subscribe("room");
      ws.send("subscribed");
    });
    const port = await listen(server);
    const s = await h2session(`https://localhost:${port}`, { ca: cert });
    try {
      const { ws: h2 } = await h2ws(s, "/");
      const h1 = new WS(`wss://localhost:${port}/`, { ca: cert });
      await within(Promise.all([nextMessage(h2!), nextMessage(h1)]), 5000, "both subscribed");
      expect(wss.subscriberCount("room")).toBe(2);
      const got = Promise.all([nextMessage(h2!), nextMessage(h1)]);
      expect(wss.publish("room", "to all")).toBe(6);
      expect((await within(got, 5000, "published")).map(([d]) => String(d))).toEqual(["to all", "to all"]);
      h1.close();
      h2!.close();
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("noServer: handleStream() on an application's own 'stream' listener (cleartext h2)", async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    const wss = new WebSocketServer({ noServer: true });
    server.on("stream", (stream, headers) => {
      if (headers[":path"] === "/mine") wss.handleStream(stream, headers, (ws, req) => {
        ws.send(`hello ${req.headers[":authority"] === undefined ? "?" : "h2"} ${req.url}`);
      });
    });
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const r = await h2ws(s, "/mine");
      expect(r.status).toBe(200);
      expect(String((await within(nextMessage(r.ws!), 5000, "greeting"))[0])).toBe("hello h2 /mine");
      r.ws!.close();
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("a 'message' listener that throws does not stop later messages, the close reply or cleanup (child process)", async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "fixtures/h2-throwing-server.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    try {
      const port = await within(
        new Promise<number>((resolve, reject) => {
          child.stdout!.on("data", () => {
            const m = /port (\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.on("exit", () => reject(new Error(`fixture exited: ${out}`)));
        }),
        10_000,
        "fixture port",
      );
      const s = await h2session(`http://127.0.0.1:${port}`);
      try {
        const { ws } = await h2ws(s, "/");
        ws!.send("throw");
        ws!.send("after");
        expect(String((await within(nextMessage(ws!), 5000, "message after the throw"))[0])).toBe("after");
        const done = closed(ws!);
        ws!.close(4002);
        expect((await within(done, 5000, "close reply"))[0]).toBe(4002);
        for (let t = 0; t < 100 && !/clients 0/.test(out); t++) await new Promise((r) => setTimeout(r, 20));
        expect(out).toMatch(/uncaught listener boom/);
        expect(out).toMatch(/closed 4002 clients 0/);
      } finally {
        s.destroy();
      }
    } finally {
      child.kill();
    }
  });
});

describe("examples/echo-server.mjs --http2", () => {
  const example = join(import.meta.dirname, "../examples/echo-server.mjs");
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill();
  });
  async function start(extra: string[]): Promise<number> {
    const child = spawn(process.execPath, [example, "--http2", "--port", "0", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    return within(
      new Promise<number>((resolve, reject) => {
        child.stdout!.on("data", (d) => {
          out += d;
          const m = /listening on wss?:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on("exit", () => reject(new Error(`example exited: ${out}`)));
      }),
      15_000,
      "example listening",
    );
  }

  it("without a certificate: cleartext h2 with prior knowledge, deflate on", async () => {
    const port = await start([]);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      expect(s.remoteSettings.enableConnectProtocol).toBe(true);
      const { ws, headers } = await h2ws(s, "/", { deflate: true });
      expect(headers["sec-websocket-extensions"]).toMatch(/permessage-deflate/);
      ws!.send(Buffer.from([1, 2, 3]));
      const [d, binary] = await within(nextMessage(ws!), 5000, "h2c echo");
      expect([[...d], binary]).toEqual([[1, 2, 3], true]);
      ws!.close();
    } finally {
      s.destroy();
    }
  });

  it("with a certificate: h2 over TLS and HTTP/1.1 upgrades on the same port", async () => {
    const dir = join(import.meta.dirname, "fixtures");
    const port = await start(["--cert", join(dir, "test-cert.pem"), "--key", join(dir, "test-key.pem")]);
    const s = await h2session(`https://localhost:${port}`, { ca: cert });
    try {
      const { ws } = await h2ws(s, "/");
      ws!.send("h2 tls");
      expect(String((await within(nextMessage(ws!), 5000, "h2 echo"))[0])).toBe("h2 tls");
      ws!.close();
      const h1 = new WS(`wss://localhost:${port}/`, { ca: cert });
      await within(new Promise((r) => h1.once("open", r)), 5000, "h1 open");
      h1.send("h1 tls");
      expect(String((await within(nextMessage(h1), 5000, "h1 echo"))[0])).toBe("h1 tls");
      h1.close();
      // A plain request gets the example's 426.
      const plain = s.request({ ":path": "/" });
      const status = await within(new Promise((r) => plain.once("response", (h) => r(h[":status"]))), 5000, "plain request");
      plain.close();
      expect(status).toBe(426);
    } finally {
      s.destroy();
    }
  });
});

// Found by attacking the HTTP/2 door from outside (each red without its fix).
describe("HTTP/2: what an outside attack found", () => {
  /** An extended CONNECT the client does not end (endStream: false), as an attacker would leave it. */
  function rawConnect(s: http2.ClientHttp2Session, path: string, extra: http2.OutgoingHttpHeaders = {}): http2.ClientHttp2Stream {
    const st = s.request({ ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": path, ":authority": "localhost", "sec-websocket-version": "13", ...extra }, { endStream: false });
    st.on("error", () => {});
    return st;
  }

  it("a refused stream the client keeps open is closed by the server (RST_STREAM(NO_ERROR)), so they cannot pile up", async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, verifyClient: (_info, cb) => cb(false, 401) });
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const streams = [rawConnect(s, "/"), rawConnect(s, "/", { "sec-websocket-version": "" }), rawConnect(s, "/", { "sec-websocket-version": "8" })];
      const results = await within(
        Promise.all(streams.map((st) => new Promise<[unknown, number]>((r) => {
          let status: unknown;
          st.once("response", (h) => (status = h[":status"]));
          st.resume();
          st.once("close", () => r([status, st.rstCode ?? -1]));
        }))),
        5000,
        "the server closing refused streams",
      );
      expect(results).toEqual([[401, http2.constants.NGHTTP2_NO_ERROR], [400, http2.constants.NGHTTP2_NO_ERROR], [426, http2.constants.NGHTTP2_NO_ERROR]]);
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("server.setTimeout() does not close a session while it carries WebSockets (as HTTP/1.1 upgrades leave it behind), and applies again after", async () => {
    const server = http2.createServer();
    server.setTimeout(300);
    const wss = new WebSocketServer({ server });
    wss.on("connection", echo);
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const { ws } = await h2ws(s, "/");
      // Quiet for three timeouts: no frame on the session at all.
      await new Promise((r) => setTimeout(r, 1000));
      expect(s.destroyed || s.closed).toBe(false);
      ws!.send("still here");
      expect(String((await within(nextMessage(ws!), 5000, "echo after a quiet second"))[0])).toBe("still here");
      ws!.close();
      await within(closed(ws!), 5000, "close");
      // No WebSocket left: the server's timeout is the session's again.
      await within(new Promise((r) => s.once("close", r)), 5000, "the session's idle timeout after the last WebSocket");
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });

  it("a handshake still waiting for verifyClient when the client says GOAWAY is refused (503), not opened", async () => {
    const server = http2.createServer();
    let answer: ((ok: boolean) => void) | undefined;
    let asking!: () => void;
    const asked = new Promise<void>((r) => (asking = r));
    const wss = new WebSocketServer({ server, verifyClient: (_info, cb) => ((answer = cb), asking()) });
    let opened = 0;
    wss.on("connection", () => opened++);
    const port = await listen(server);
    const s = await h2session(`http://127.0.0.1:${port}`);
    try {
      const st = rawConnect(s, "/");
      await within(asked, 5000, "verifyClient called");
      s.goaway(http2.constants.NGHTTP2_NO_ERROR);
      await new Promise((r) => setTimeout(r, 100));
      answer!(true);
      const status = await within(new Promise((r) => st.once("response", (h) => r(h[":status"]))), 5000, "the answer");
      expect(status).toBe(503);
      expect(opened).toBe(0);
    } finally {
      s.destroy();
      await stop(wss, server);
    }
  });
});
