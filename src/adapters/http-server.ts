// serve() of wasmsocket/deno and wasmsocket/bun with a `fetch` handler: one port for HTTP and
// WebSocket, on the runtime's own node:http (README, "Deno and Bun"). Plain requests become WHATWG
// Requests for the application's `fetch` handler, as with Deno.serve and Bun.serve; upgrade
// requests run on our engine: the runtime hands over the raw socket, the request head is given back
// to a server Connection as it came, and acceptOn() decides. node:http is loaded when the first
// such server starts: clients and WebSocket-only servers never load it (25–90 ms on Deno, 15–45 ms
// on Bun, measured here).
import type * as http from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { DEFAULT_LIMITS } from "../protocol/limits.js";
import type { Connection, ConnectionOptions } from "../protocol/connection.js";
import { acceptOn, type OnConnection } from "./runtime-server.js";
import { defaultDeflateEngine } from "./deflate.js";
import { overNetSocket } from "./net-transport.js";
import { OpenSockets, pem, serverOf, type ServeOptions, type Server, type ServerAddress } from "./serve.js";

const encoder = new TextEncoder();

/** The request head as it came on the wire (header names and values as the runtime read them). */
function headBytes(req: http.IncomingMessage): Uint8Array {
  let s = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  s += "\r\n";
  // Header bytes are Latin-1 to HTTP parsers: give each back as it was read.
  if (/^[\x00-\x7f]*$/.test(s)) return encoder.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!b.length) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The WHATWG Request of a node:http request; its body streams from `req`, and its signal aborts if the client goes. */
function toRequest(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean, fallbackHost: string): Request {
  const url = new URL(req.url ?? "/", `${secure ? "https" : "http"}://${req.headers.host || fallbackHost}`);
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const method = req.method ?? "GET";
  let body: ReadableStream<Uint8Array> | undefined;
  if (method !== "GET" && method !== "HEAD") {
    let cancelled = false;
    body = new ReadableStream<Uint8Array>({
      start(c) {
        req.on("data", (d: Uint8Array) => {
          if (cancelled) return;
          c.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
          if ((c.desiredSize ?? 1) <= 0) req.pause();
        });
        req.once("end", () => cancelled || c.close());
        req.once("error", (e) => cancelled || c.error(e));
      },
      pull: () => void req.resume(),
      cancel: () => {
        cancelled = true;
        req.resume(); // read the rest away: the connection may carry the next request
      },
    });
  }
  return new Request(url, { method, headers, body, signal: controller.signal, duplex: "half" } as RequestInit);
}

/** Writes `response` to `res`, streaming its body with backpressure. */
async function writeResponse(res: http.ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of response.headers) if (k !== "set-cookie") headers[k] = v;
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) throw new Error("client gone");
      if (!res.write(value)) await new Promise<void>((r) => (res.once("drain", r), res.once("close", r)));
    }
    res.end();
  } catch {
    // The body failed, or the client went: the response cannot be completed.
    reader.cancel().catch(() => {});
    res.destroy();
  }
}

function internalError(error: unknown): Response {
  console.error(error);
  return new Response("500 Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}

async function answer(options: HttpServeOptions, request: Request): Promise<Response> {
  try {
    const response = await options.fetch(request);
    if (!(response instanceof Response)) throw new TypeError("fetch handler did not return a Response");
    return response;
  } catch (error) {
    if (!options.onError) return internalError(error);
    try {
      const response = await options.onError(error);
      if (response instanceof Response) return response;
      throw new TypeError("onError did not return a Response");
    } catch (e) {
      return internalError(e);
    }
  }
}

const kWatch = Symbol("wasmsocket.headWatch");
type Watched = Socket & { [kWatch]?: { timer: ReturnType<typeof setTimeout> | undefined; inFlight: number } };

/**
 * Bounds the time a connection may take to send a complete request head (slowloris), as the raw
 * listeners' handshakeTimeout does: from the connection (on https: from its TLS handshake), and
 * again from the end of each response while no other request is in flight. The runtimes' node:http never drops a connection that sends
 * half a head (measured: still open after 6 s on Deno 2.9 and Bun 1.4), and its own socket timeouts
 * would also cut slow responses and idle WebSockets.
 */
class HeadTimeouts {
  constructor(private readonly ms: number) {}
  connected(socket: Watched): void {
    socket[kWatch] = { timer: undefined, inFlight: 0 };
    this.#arm(socket);
  }
  request(socket: Watched, res: http.ServerResponse): void {
    const w = socket[kWatch];
    if (!w) return;
    clearTimeout(w.timer);
    w.inFlight++;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      if (--w.inFlight === 0 && !socket.destroyed) this.#arm(socket);
    };
    res.once("finish", finished);
    res.once("close", finished);
  }
  /** The connection is a WebSocket now: its own handshakeTimeout and close handling take over. */
  upgraded(socket: Watched): void {
    const w = socket[kWatch];
    if (w) clearTimeout(w.timer);
    delete socket[kWatch];
  }
  #arm(socket: Watched): void {
    const w = socket[kWatch]!;
    if (this.ms <= 0) return;
    w.timer = setTimeout(() => socket.destroy(), this.ms);
    (w.timer as { unref?(): void }).unref?.();
  }
}

/**
 * The TLS handshake of an https door gets handshakeTimeout too (tls.Server's option): a peer that
 * never sends its ClientHello, or half of one, is dropped then. Deno's node:https honours it (a
 * silent peer was kept for good before: still open after 45 s on Deno 2.9); Bun's (1.4) ignores it
 * and closes such a peer after ~12 s of its own.
 */
const tlsDeadline = (ms: number = DEFAULT_LIMITS.handshakeTimeout): { handshakeTimeout?: number } => (ms > 0 ? { handshakeTimeout: ms } : {});

type HttpServeOptions = ServeOptions & Required<Pick<ServeOptions, "fetch">>;

/** Listens on node:http (https with `tls`): `fetch` answers plain requests, upgrades run on `makeConnection`'s connections. */
export function serveHttp(options: HttpServeOptions, onConnection: OnConnection, makeConnection: (options: ConnectionOptions) => Connection): Server {
  const secure = options.tls !== undefined;
  const hostname = options.hostname ?? "127.0.0.1";
  const open = new OpenSockets(onConnection, options);
  const heads = new HeadTimeouts(options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout);
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    heads.request(req.socket, res);
    let request: Request;
    try {
      request = toRequest(req, res, secure, hostname);
    } catch {
      // An unparseable target or Host, or a header value Headers refuses.
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8", connection: "close" }).end("400 Bad Request\n");
      return;
    }
    answer(options, request)
      .then((response) => writeResponse(res, response))
      .catch(() => res.destroy());
  };
  const addr: ServerAddress = { hostname, port: options.port ?? 0 };
  const started = (async () => {
    const server = secure
      ? (await import("node:https")).createServer({ cert: pem(options.tls!.cert), key: pem(options.tls!.key), ...tlsDeadline(options.handshakeTimeout) }, onRequest)
      : (await import("node:http")).createServer(onRequest);
    // On https, from the end of the TLS handshake (bounded by tlsDeadline): requests come on that socket.
    server.on(secure ? "secureConnection" : "connection", (socket: Socket) => heads.connected(socket));
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Uint8Array) => {
      heads.upgraded(socket as Socket);
      (socket as Duplex & { setNoDelay?(on: boolean): void }).setNoDelay?.(true);
      const conn = makeConnection(options);
      const ws = overNetSocket(socket, conn, options);
      acceptOn(ws, conn, options, defaultDeflateEngine, open.accepted);
      ws.driver.receive(concat(headBytes(req), head));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port: addr.port, host: hostname, ...(options.reusePort ? { reusePort: true } : {}) }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const a = server.address();
    if (a && typeof a === "object") addr.port = a.port;
    options.onListen?.(addr);
    return server;
  })();
  const stop = () =>
    started.then(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeIdleConnections?(): void }).closeIdleConnections?.();
        }),
      () => {},
    );
  return serverOf(addr, started.then(() => addr), open, stop);
}
