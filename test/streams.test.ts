// overStreams(pair, conn, options): the public way to run a connection over a ReadableStream /
// WritableStream pair one already has, in either role, with a handshake or already open, using only
// the package's public exports (no driver, no onRequest).
import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import { WebSocket as WsClient, WebSocketServer as WsServer } from "ws";
import { Connection, overStreams, deflateForClient, pakoEngine, type StreamPair, type UpgradeOptions, type WebSocketConnection } from "../src/index.js";

import { WebSocketConnection as Connected } from "../src/adapters/socket.js";
import { StreamTransport } from "../src/adapters/streams/transport.js";
import { readSlowly } from "./helpers/frames.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

/** Two duplex ends joined by a pair of TransformStreams, as in a service worker. */
function pipePair(): [StreamPair, StreamPair] {
  const a = new TransformStream<Uint8Array, Uint8Array>();
  const b = new TransformStream<Uint8Array, Uint8Array>();
  return [
    { readable: a.readable, writable: b.writable },
    { readable: b.readable, writable: a.writable },
  ];
}

function closed(ws: WebSocketConnection): Promise<[number, string, boolean]> {
  return new Promise((r) => ws.on("close", (code, reason, wasClean) => r([code, reason, wasClean])));
}

function echo(ws: WebSocketConnection): void {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
}

const toWeb = (socket: net.Socket) => Duplex.toWeb(socket) as unknown as StreamPair;

describe("overStreams over a real TCP socket (Duplex.toWeb)", () => {
  it("server role: answers ws's upgrade request with the subprotocol and permessage-deflate it was told to", async () => {
    const requests: string[] = [];
    const server = net.createServer((socket) => {
      const ws = overStreams(toWeb(socket), Connection.server(), {
        verifyClient: (request) => (requests.push(request.path), request.path === "/chat"),
        handleProtocols: (protocols) => protocols.find((p) => p === "v2") ?? false,
        perMessageDeflate: { threshold: 0 },
      });
      echo(ws);
      serverCloses.push(closed(ws));
    });
    const serverCloses: Promise<[number, string, boolean]>[] = [];
    cleanups.push(() => server.close());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const client = new WsClient(`${url}/chat`, ["v1", "v2"], { perMessageDeflate: { threshold: 0 } });
    await new Promise((r, j) => (client.once("open", r), client.once("error", j)));
    expect(client.protocol).toBe("v2");
    expect(client.extensions).toContain("permessage-deflate");
    const got: unknown[] = [];
    const done = new Promise<void>((r) =>
      client.on("message", (data, isBinary) => {
        got.push(isBinary ? [...(data as Buffer)] : String(data));
        if (got.length === 2) r();
      }),
    );
    client.send("ü".repeat(3000));
    client.send(new Uint8Array([1, 2, 3]));
    await done;
    expect(got).toEqual(["ü".repeat(3000), [1, 2, 3]]);
    client.close(4001, "bye");
    // The server answers with the code (the reason is ours to echo or not).
    expect(await new Promise((r) => client.once("close", (code) => r(code)))).toBe(4001);
    expect(await serverCloses[0]).toEqual([4001, "bye", true]);

    // verifyClient said no: the client sees the status, the server's socket closes (1006).
    const refused = new WsClient(`${url}/other`);
    const status = await new Promise((r) => refused.once("unexpected-response", (_req, res) => r(res.statusCode)));
    expect(status).toBe(401);
    expect(requests).toEqual(["/chat", "/other"]);
    expect((await serverCloses[1]!)[0]).toBe(1006);
  });

  it("client role: sends its upgrade request by itself and talks to ws's server, with deflate on pako", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0 }, handleProtocols: () => "v1" });
    cleanups.push(() => wss.close());
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    const port = (wss.address() as AddressInfo).port;

    const tcp = net.connect(port, "127.0.0.1");
    await new Promise((r) => tcp.once("connect", r));
    const ws = overStreams(toWeb(tcp), Connection.client(`ws://127.0.0.1:${port}/`, { protocols: ["v1"], negotiator: deflateForClient({ threshold: 0 }, pakoEngine) }));
    const got: unknown[] = [];
    ws.on("open", () => {
      ws.send("hello");
      ws.send(new Uint8Array([7, 8]));
    });
    ws.on("message", (data, isBinary) => {
      got.push(isBinary ? [...(data as Uint8Array)] : data);
      if (got.length === 2) ws.close(1000, "done");
    });
    expect(await closed(ws)).toEqual([1000, "done", true]);
    expect(got).toEqual(["hello", [7, 8]]);
    expect([ws.protocol, ws.extensions]).toEqual(["v1", "permessage-deflate"]);
  });

  it("server role: a close from ws's client while a large send is queued: the send and the close reply both arrive (1000)", async () => {
    const serverCloses: Promise<[number, string, boolean]>[] = [];
    const server = net.createServer((socket) => {
      const ws = overStreams(toWeb(socket), Connection.server());
      ws.on("message", () => ws.send(new Uint8Array(8 << 20).fill(5)));
      serverCloses.push(closed(ws));
    });
    cleanups.push(() => server.close());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const client = new WsClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await new Promise((r, j) => (client.once("open", r), client.once("error", j)));
    const got: number[] = [];
    client.on("message", (data: Buffer) => got.push(data.length));
    const clientClosed = new Promise<number>((r) => client.once("close", r));
    client.send("go");
    client.close(1000);
    // Before: end() cancelled the readable at once, which destroyed the TCP socket under it with the
    // 8 MB and the close reply still queued: ws's client got nothing and 1006.
    expect(await clientClosed).toBe(1000);
    expect(got).toEqual([8 << 20]);
    expect(await serverCloses[0]).toEqual([1000, "", true]);
  });
});

describe("overStreams when the writable fails", () => {
  // Found by an outside attack (attack/over-streams.mjs, Node, Deno and Bun alike): a write the
  // writable refused was only counted as done, so the connection stayed OPEN (or CLOSING) with every
  // later send lost, for as long as the readable lasted. A refused write is the transport closing.
  it("closes with 1006 and lets the TCP socket go when a write is refused while the readable goes on", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => wss.close());
    await new Promise((r) => wss.once("listening", r));
    const serverClosed = new Promise<number>((r) => wss.on("connection", (ws) => ws.on("close", (code) => r(code))));
    const port = (wss.address() as AddressInfo).port;
    const tcp = net.connect(port, "127.0.0.1");
    cleanups.push(() => tcp.destroy());
    await new Promise((r) => tcp.once("connect", r));
    const web = toWeb(tcp);
    // A tunnel in front of the socket's writable whose far side breaks once the connection is open.
    const writer = web.writable.getWriter();
    let broken = false;
    const writable = new WritableStream<Uint8Array>({
      write(chunk) {
        if (broken) throw new Error("tunnel broke");
        return writer.write(chunk);
      },
    });
    const ws = overStreams({ readable: web.readable, writable }, Connection.client(`ws://127.0.0.1:${port}/`));
    await new Promise((r) => ws.once("open", () => r(undefined)));
    broken = true;
    ws.send("lost");
    const result = await Promise.race([closed(ws), new Promise((r) => setTimeout(() => r(`still ${ws.readyState}`), 2000))]);
    expect(result).toEqual([1006, "", false]);
    // The socket under it was let go: ws's server sees the connection end (1006, no close frame).
    expect(await serverClosed).toBe(1006);
  });

  it("closes with 1006 when the other end of a TransformStream pair cancels its readable", async () => {
    const [a, b] = pipePair();
    const server = overStreams(b, Connection.open("server"));
    await new Promise((r) => server.once("open", () => r(undefined)));
    await a.readable.cancel(new Error("gone"));
    server.send("after cancel");
    const result = await Promise.race([closed(server), new Promise((r) => setTimeout(() => r(`still ${server.readyState}`), 2000))]);
    expect(result).toEqual([1006, "", false]);
  });
});

describe("overStreams over a pair of TransformStreams", () => {
  it("both roles of ours, with an asynchronous verifyClient and compressed messages", async () => {
    const [serverEnd, clientEnd] = pipePair();
    const server = overStreams(serverEnd, Connection.server(), {
      verifyClient: async (request) => request.head.headers.get("x-token")?.[0] === "secret",
      perMessageDeflate: true,
    });
    echo(server);
    const client = overStreams(clientEnd, Connection.client("ws://streams.local/", { headers: { "x-token": "secret" }, negotiator: deflateForClient({}, pakoEngine) }));
    const opened = new Promise<void>((r) => client.on("open", r));
    const serverOpened = new Promise<void>((r) => server.on("open", r));
    const message = new Promise<unknown>((r) => client.on("message", r));
    await opened;
    await serverOpened;
    expect(server.extensions).toBe("permessage-deflate");
    client.send("x".repeat(10_000));
    expect(await message).toBe("x".repeat(10_000));
    const serverClosed = closed(server);
    client.close(1000);
    expect(await closed(client)).toEqual([1000, "", true]);
    expect(await serverClosed).toEqual([1000, "", true]);
  });

  it("a refused request: the client reports the status as 'error', then closes 1006", async () => {
    const [serverEnd, clientEnd] = pipePair();
    overStreams(serverEnd, Connection.server(), { verifyClient: () => 403 });
    const client = overStreams(clientEnd, Connection.client("ws://streams.local/"));
    const error = new Promise<Error>((r) => client.on("error", r));
    expect(await closed(client)).toEqual([1006, "", false]);
    expect((await error).message).toMatch(/403/);
  });

  it("without options, the server role accepts the request (no subprotocol, no extension)", async () => {
    const [serverEnd, clientEnd] = pipePair();
    const server = overStreams(serverEnd, Connection.server());
    echo(server);
    const client = overStreams(clientEnd, Connection.client("ws://streams.local/", { negotiator: deflateForClient({}, pakoEngine) }));
    client.on("open", () => client.send("plain"));
    client.on("message", (data) => {
      expect(data).toBe("plain");
      client.close();
    });
    expect(await closed(client)).toEqual([1000, "", true]);
    expect(client.extensions).toBe("");
  });

  it("already open (Connection.open): no handshake, 'open' fires for listeners added after overStreams returns", async () => {
    const [a, b] = pipePair();
    const server = overStreams(a, Connection.open("server"));
    const client = overStreams(b, Connection.open("client"));
    const opens: string[] = [];
    server.on("open", () => opens.push("server"));
    client.on("open", () => opens.push("client"));
    expect(client.readyState).toBe(1);
    echo(server);
    const message = new Promise<unknown>((r) => client.on("message", (data, isBinary) => r([data, isBinary])));
    client.send(new Uint8Array([1, 2, 3]));
    expect(await message).toEqual([new Uint8Array([1, 2, 3]), true]);
    expect(opens.sort()).toEqual(["client", "server"]);
    const serverClosed = closed(server);
    server.close(4000, "bye");
    expect(await closed(client)).toEqual([4000, "bye", true]);
    // RFC 6455 §7.1.5: the server reports the close frame it received, the client's echo (code and reason).
    expect(await serverClosed).toEqual([4000, "bye", true]);
  });
});

describe("the server role decides as the Node server does (one upgrade policy)", () => {
  /** A TCP server whose every socket is a server-role overStreams() with `options`. */
  async function streamsServer(options: UpgradeOptions): Promise<{ port: number; sockets: WebSocketConnection[] }> {
    const sockets: WebSocketConnection[] = [];
    const server = net.createServer((socket) => {
      const ws = overStreams(toWeb(socket), Connection.server(), options);
      echo(ws);
      sockets.push(ws);
    });
    cleanups.push(() => server.close());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { port: (server.address() as AddressInfo).port, sockets };
  }

  /** How a ws client fares: open (with its subprotocol), or the HTTP answer it got instead. */
  function tryOpen(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<{ opened: boolean; protocol?: string; status?: number; header?: string; body?: string }> {
    return new Promise((resolve) => {
      const ws = new WsClient(url, protocols, { headers });
      cleanups.push(() => ws.terminate());
      ws.on("open", () => resolve({ opened: true, protocol: ws.protocol }));
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d));
        res.on("end", () => resolve({ opened: false, status: res.statusCode, header: res.headers["x-why"] as string | undefined, body }));
      });
      ws.on("error", (err) => resolve({ opened: false, body: err.message }));
    });
  }

  it("verifyClient's (request, cb) form: cb(false, status, message, headers) refuses with them, cb(true) accepts", async () => {
    const { port } = await streamsServer({
      verifyClient: (request, cb) => setTimeout(() => (request.path === "/in" ? cb(true) : cb(false, 403, "not here", { "X-Why": "path" })), 5),
    });
    expect(await tryOpen(`ws://127.0.0.1:${port}/out`)).toEqual({ opened: false, status: 403, header: "path", body: "not here" });
    expect(await tryOpen(`ws://127.0.0.1:${port}/in`)).toMatchObject({ opened: true });
  });

  it("without handleProtocols, the first subprotocol offered is chosen (as ws: its client fails when none is)", async () => {
    const { port } = await streamsServer({});
    expect(await tryOpen(`ws://127.0.0.1:${port}/`, ["v1", "v2"])).toEqual({ opened: true, protocol: "v1" });
  });

  it("a malformed Sec-WebSocket-Protocol (a name repeated, an empty one) is refused with 400, as ws does", async () => {
    const { port, sockets } = await streamsServer({});
    for (const list of ["chat, chat", "a,,b"]) {
      const reply = await new Promise<string>((resolve) => {
        const sock = net.connect(port, "127.0.0.1");
        let text = "";
        sock.on("data", (d) => {
          text += d.toString("latin1");
          // Accepted (the old behaviour): nothing more comes, and the socket stays open.
          if (text.startsWith("HTTP/1.1 101")) resolve(text);
        });
        sock.on("close", () => resolve(text));
        cleanups.push(() => sock.destroy());
        sock.on("error", () => {});
        sock.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${list}\r\n\r\n`);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply).toMatch(/Invalid Sec-WebSocket-Protocol header$/);
    }
    for (const ws of sockets) if (ws.readyState !== 3) await closed(ws);
  });
});

describe("bufferedAmount", () => {
  it("counts what the transport still holds: high while the peer does not read, 0 at 'drain' once it has read", async () => {
    let peer: net.Socket | undefined;
    let received = 0;
    const server = net.createServer((sock) => {
      peer = sock;
      sock.pause(); // reads nothing until told
      sock.on("data", (d) => (received += d.length));
    });
    cleanups.push(() => server.close());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const tcp = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
    cleanups.push(() => tcp.destroy());
    await new Promise((r) => tcp.once("connect", r));
    const ws = overStreams(toWeb(tcp), Connection.open("client"));
    const size = 32 << 20;
    ws.send(new Uint8Array(size));
    await new Promise((r) => setImmediate(r));
    // The kernel's buffers take a few MiB at most; the rest waits in the stream (it was 0 before:
    // only what the connection had not yet handed to the transport was counted).
    expect(ws.bufferedAmount).toBeGreaterThan(size / 2);
    const drained = new Promise<void>((r) => ws.on("drain", () => r()));
    peer!.resume();
    await drained;
    expect(ws.bufferedAmount).toBe(0);
    expect(received).toBeGreaterThan(size - (8 << 20));
  });
});

describe("pause() and resume() follow ws", () => {
  it("do nothing while CONNECTING: the socket opens unpaused and its first message arrives", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => wss.close());
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => ws.send("first"));
    const tcp = net.connect((wss.address() as AddressInfo).port, "127.0.0.1");
    cleanups.push(() => tcp.destroy());
    await new Promise((r) => tcp.once("connect", r));
    const ws = overStreams(toWeb(tcp), Connection.client(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`));
    ws.pause(); // CONNECTING: ignored (it held every message until resume() before)
    expect(ws.isPaused).toBe(false);
    const message = await new Promise((r) => ws.on("message", r));
    expect(message).toBe("first");
    ws.close();
    await closed(ws);
  });
});

// The writable of a pair says nothing of a chunk until all of it is written; a peer taking a large
// message slowly must still show progress to the progress watch (StreamTransport writes in slices).
describe("a StreamTransport over a real TCP socket, closing behind one large send (stallTimeout 2 s)", () => {
  const SIZE = 24_000_000;
  async function run(slow: boolean) {
    let ended!: Promise<{ error?: string; code: number }>;
    const server = net.createServer((socket) => {
      const transport = new StreamTransport(toWeb(socket));
      const ws = new Connected(Connection.open("server"), transport, { stallTimeout: 2000 });
      transport.start(ws.driver);
      ended = new Promise((resolve) => {
        let error: string | undefined;
        ws.on("error", (e: Error & { code?: string }) => (error = e.code));
        ws.on("close", (code) => resolve({ error, code }));
      });
      ws.send(new Uint8Array(SIZE).fill(7));
      ws.close(1000);
    });
    cleanups.push(() => server.close());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const sock = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
    sock.on("error", () => {});
    cleanups.push(() => void sock.destroy());
    // The slow reader pauses 20 ms after each read (at most ~3 MB/s); the other stops after the first.
    const read = readSlowly(sock, slow);
    for (let i = 0; i < 100 && !ended; i++) await new Promise((r) => setTimeout(r, 50));
    const r = await Promise.race([ended, new Promise<{ code: number }>((res) => setTimeout(() => res({ code: -1 }), 30_000))]);
    return { ...r, n: slow ? read.n : undefined, tail: slow ? read.tail : undefined };
  }

  it("a slow reader gets it all, then the close frame", async () => {
    // The message (24 MB and a 10-byte header), the close frame (4 B).
    expect(await run(true)).toEqual({ error: undefined, code: 1000, n: 10 + SIZE + 4, tail: "880203e8" });
  }, 40_000);

  it("a reader that stops is dropped as not reading", async () => {
    expect(await run(false)).toEqual({ error: "WS_ERR_PEER_NOT_READING", code: 1006, n: undefined, tail: undefined });
  }, 40_000);
});
