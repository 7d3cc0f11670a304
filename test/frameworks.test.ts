// Framework doors (issue 14): wasmsocket/node where Express, Fastify, Hono and crossws expect `ws`,
// over real loopback sockets, with a real `ws` client as the peer. Each door round-trips a message
// and, where the framework has an auth hook, refuses with 401 before any upgrade.
import { afterEach, describe, expect, it } from "vitest";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import WS, { WebSocketServer as WSServer } from "ws";
import express from "express";
import Fastify from "fastify";
import fastifyWebsocket from "@fastify/websocket";
import { Hono } from "hono";
import { serve, upgradeWebSocket } from "@hono/node-server";
import crossws, { type NodeOptions } from "crossws/adapters/node";
import { WebSocketServer, WebSocket } from "../src/node.js";

// Type doors. Hono types `websocket.server` structurally (WebSocketServerLike): ours is passed with
// no cast below. crossws types `wss` as its bundled copy of @types/ws's WebSocketServer, whose WebSocket class declares
// `static WebSocketServer: WebSocketServer` (an instance, not the class), so no correctly typed server
// fits, ws's own included (@types/ws 8.18.2). What its Node adapter uses of `wss` must fit without a
// cast; the cast is only at the option itself.
type CrosswsUses = {
  options: { perMessageDeflate?: unknown };
  on(event: "connection", cb: (ws: WebSocket, req: http.IncomingMessage) => void): unknown;
  on(event: "headers", cb: (headers: string[], req: http.IncomingMessage) => void): unknown;
  on(event: "close", cb: () => void): unknown;
  handleUpgrade(req: http.IncomingMessage, socket: import("node:stream").Duplex, head: Buffer, cb: (ws: WebSocket) => void): void;
  emit(event: "connection", ws: WebSocket, req: http.IncomingMessage): boolean;
};
const asCrosswsWss = (wss: WebSocketServer & CrosswsUses): NodeOptions["wss"] => wss as unknown as NodeOptions["wss"];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const requireFromRoot = createRequire(path.join(root, "package.json"));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function closeHttp(server: http.Server): Promise<void> {
  return new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
}

function listening(server: http.Server): Promise<number> {
  return new Promise((r) => {
    if (server.listening) return r((server.address() as AddressInfo).port);
    server.once("listening", () => r((server.address() as AddressInfo).port));
  });
}

/** Opens a ws client, sends `text`, resolves with the first reply (and the handshake's response headers). */
function roundTrip(url: string, text: string, headers: Record<string, string> = {}): Promise<{ reply: string; isBinary: boolean; upgradeHeaders: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WS(url, { headers });
    let upgradeHeaders: http.IncomingHttpHeaders = {};
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`no reply from ${url}`)); }, 10_000);
    ws.on("upgrade", (res) => { upgradeHeaders = res.headers; });
    ws.on("open", () => ws.send(text));
    ws.on("message", (data, isBinary) => {
      clearTimeout(timer);
      ws.close(1000);
      resolve({ reply: Buffer.isBuffer(data) ? data.toString() : String(data), isBinary, upgradeHeaders });
    });
    ws.on("unexpected-response", (_req, res) => { clearTimeout(timer); reject(new Error(`unexpected response ${res.statusCode}`)); });
    ws.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Opens a ws client that the server should refuse: resolves with the HTTP status it got instead of 101. */
function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WS(url, { headers });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`no answer from ${url}`)); }, 10_000);
    ws.on("open", () => { clearTimeout(timer); ws.terminate(); reject(new Error("the upgrade was accepted")); });
    ws.on("unexpected-response", (req, res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    // ws reports a refusal it could not read as a response (e.g. the socket closed early) as an error.
    ws.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

const GOOD = { authorization: "Bearer good" };
const BAD = { authorization: "Bearer bad" };

describe("Express: new WebSocketServer({ server: app.listen(), path })", () => {
  it("shares the Express server: pages still served, messages round-trip, verifyClient refuses with 401", async () => {
    const app = express();
    app.get("/", (_req, res) => { res.send("page"); });
    const server = app.listen(0, "127.0.0.1");
    cleanups.push(() => closeHttp(server));
    const port = await listening(server);

    const connections: { ws: WebSocket; req: http.IncomingMessage }[] = [];
    const wss = new WebSocketServer({
      server,
      path: "/ws",
      verifyClient: (info, cb) => {
        if (info.req.headers.authorization === GOOD.authorization) cb(true);
        else cb(false, 401, "Unauthorized");
      },
    });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on("connection", (ws, req) => {
      connections.push({ ws, req });
      ws.on("message", (data, isBinary) => {
        expect(Buffer.isBuffer(data)).toBe(true);
        ws.send(`express:${String(data)}`, { binary: isBinary });
      });
    });

    // Express still answers plain HTTP on the same server.
    const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(page).toBe("page");

    const { reply, isBinary } = await roundTrip(`ws://127.0.0.1:${port}/ws`, "hello", GOOD);
    expect(reply).toBe("express:hello");
    expect(isBinary).toBe(false);
    expect(connections).toHaveLength(1);
    expect(connections[0]!.ws).toBeInstanceOf(WebSocket);
    expect(connections[0]!.req).toBeInstanceOf(http.IncomingMessage);
    expect(connections[0]!.req.url).toBe("/ws");

    expect(await refusedStatus(`ws://127.0.0.1:${port}/ws`, BAD)).toBe(401);
    expect(await refusedStatus(`ws://127.0.0.1:${port}/ws`)).toBe(401);
    expect(connections).toHaveLength(1);
  });
});

describe("Fastify: @fastify/websocket with require(\"ws\") overridden to wasmsocket/node", () => {
  it("@fastify/websocket resolves `ws` to the fixture that re-exports wasmsocket/node, not to the real ws", () => {
    const fastifyWsDir = path.dirname(requireFromRoot.resolve("@fastify/websocket"));
    const wsSeenByFastify = createRequire(path.join(fastifyWsDir, "index.js")).resolve("ws");
    expect(wsSeenByFastify).toBe(path.join(root, "test", "fixtures", "ws-alias", "index.cjs"));
    expect(wsSeenByFastify).not.toBe(requireFromRoot.resolve("ws"));
  });

  it("require(\"wasmsocket/node\") has ws's CJS shape: the WebSocket class, with .Server and .WebSocketServer", () => {
    const cjs = requireFromRoot("wasmsocket/node") as unknown;
    // ws: `const WebSocket = require("ws"); new WebSocket.Server(...)`, which @fastify/websocket does.
    expect(typeof cjs, "require(\"wasmsocket/node\") must return the WebSocket class itself, as require(\"ws\") does").toBe("function");
    const W = cjs as { name: string; Server?: unknown; WebSocketServer?: unknown; WebSocket?: unknown };
    expect(W.name).toBe("WebSocket");
    expect(typeof W.Server).toBe("function");
    expect(W.WebSocketServer).toBe(W.Server);
    expect(W.WebSocket).toBe(cjs);
  });

  it("routes upgrades through Fastify's hooks: a preValidation 401 refuses, an accepted socket is ours and round-trips", async () => {
    const ours = requireFromRoot("wasmsocket/node") as { WebSocket: unknown; WebSocketServer: unknown };
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(fastifyWebsocket);
    app.addHook("preValidation", async (request, reply) => {
      if (request.headers.authorization !== GOOD.authorization) await reply.code(401).send({ error: "Unauthorized" });
    });
    const handled: { socket: unknown; url: string }[] = [];
    app.get("/ws", { websocket: true }, (socket, request) => {
      handled.push({ socket, url: request.url });
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        socket.send(`fastify:${data.toString()}`, { binary: isBinary });
      });
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const port = (app.server.address() as AddressInfo).port;

    // The plugin built its server with our class, and the socket it hands the route is ours.
    expect(app.websocketServer).toBeInstanceOf(ours.WebSocketServer as new () => unknown);
    expect(app.websocketServer).not.toBeInstanceOf(WSServer);

    const { reply, isBinary } = await roundTrip(`ws://127.0.0.1:${port}/ws`, "hello", GOOD);
    expect(reply).toBe("fastify:hello");
    expect(isBinary).toBe(false);
    expect(handled).toHaveLength(1);
    expect(handled[0]!.url).toBe("/ws");
    expect(handled[0]!.socket).toBeInstanceOf(ours.WebSocket as new () => unknown);
    expect(handled[0]!.socket).not.toBeInstanceOf(WS);

    expect(await refusedStatus(`ws://127.0.0.1:${port}/ws`, BAD)).toBe(401);
    expect(handled).toHaveLength(1);
  });
});

describe("Hono: @hono/node-server serve({ websocket: { server: new WebSocketServer({ noServer: true }) } })", () => {
  it("upgradeWebSocket round-trips on our server; middleware refuses with 401", async () => {
    const app = new Hono();
    app.use("/ws", async (c, next) => {
      if (c.req.header("authorization") !== GOOD.authorization) return c.text("Unauthorized", 401);
      await next();
    });
    const raws: unknown[] = [];
    app.get("/ws", upgradeWebSocket(() => ({
      onOpen(_event, ws) { raws.push(ws.raw); },
      onMessage(event, ws) { ws.send(`hono:${String(event.data)}`); },
    })));
    app.get("/", (c) => c.text("page"));

    const wss = new WebSocketServer({ noServer: true });
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", websocket: { server: wss } }) as http.Server;
    cleanups.push(() => closeHttp(server));
    const port = await listening(server);

    expect(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())).toBe("page");
    const { reply, isBinary } = await roundTrip(`ws://127.0.0.1:${port}/ws`, "hello", GOOD);
    expect(reply).toBe("hono:hello");
    expect(isBinary).toBe(false);
    expect(raws).toHaveLength(1);
    expect(raws[0]).toBeInstanceOf(WebSocket);

    expect(await refusedStatus(`ws://127.0.0.1:${port}/ws`, BAD)).toBe(401);
    expect(raws).toHaveLength(1);
  });
});

describe("crossws: crossws/adapters/node with { wss: new WebSocketServer({ noServer: true }) }", () => {
  it("round-trips through crossws hooks on our server; the upgrade hook's 401 refuses; its upgrade headers reach the client", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const opened: unknown[] = [];
    const adapter = crossws({
      wss: asCrosswsWss(wss),
      hooks: {
        upgrade(request) {
          if (request.headers.get("authorization") !== GOOD.authorization) {
            return new Response("Unauthorized", { status: 401, headers: { "www-authenticate": "Bearer" } });
          }
          return { headers: { "x-door": "crossws" } };
        },
        open(peer) { opened.push(peer); },
        message(peer, message) { peer.send(`crossws:${message.text()}`); },
      },
    });
    let connected = 0;
    wss.on("connection", (ws) => { connected++; expect(ws).toBeInstanceOf(WebSocket); });

    const server = http.createServer((_req, res) => res.end("page"));
    server.on("upgrade", (req, socket, head) => { void adapter.handleUpgrade(req, socket, head); });
    server.listen(0, "127.0.0.1");
    cleanups.push(() => closeHttp(server));
    cleanups.push(() => adapter.closeAll(1001, "bye", true));
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const port = await listening(server);

    const { reply, isBinary, upgradeHeaders } = await roundTrip(`ws://127.0.0.1:${port}/ws`, "hello", GOOD);
    expect(reply).toBe("crossws:hello");
    expect(isBinary).toBe(false);
    expect(upgradeHeaders["x-door"]).toBe("crossws");
    expect(connected).toBe(1);
    expect(opened).toHaveLength(1);

    expect(await refusedStatus(`ws://127.0.0.1:${port}/ws`, BAD)).toBe(401);
    expect(connected).toBe(1);
  });
});
