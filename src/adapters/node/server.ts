// A ws-like server: listens itself, attaches to an http(s).Server's 'upgrade' event, or serves
// upgrades you hand it (noServer + handleUpgrade). Every socket handed to us gets an error listener
// before anything else, nothing thrown by a hook escapes a Node event, and only an explicit yes
// from verifyClient accepts.
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { Connection, type ConnectionOptions } from "../../protocol/connection.js";
import type { UpgradeRequest } from "../../protocol/handshake/server.js";
import { rejectResponse } from "../../protocol/handshake/server.js";
import type { HttpHead } from "../../protocol/handshake/http.js";
import { CloseCode } from "../../protocol/close-codes.js";
import { WebSocket } from "./websocket.js";
import { binaryAsBuffer } from "./buffers.js";
import { nodeDeflateEngine } from "./zlib-engine.js";
import { deflateForServer, type DeflateOptions } from "../../protocol/extensions/permessage-deflate.js";

/** What verifyClient is given, as in ws: the Origin header, whether TLS is on, and the request. */
export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  /**
   * The http.IncomingMessage (server: / handleUpgrade). The own listener parses requests itself and
   * gives a RequestInfo: method, url, httpVersion, headers and socket, typed as ws types it.
   */
  req: http.IncomingMessage;
}

/** The fields of an http.IncomingMessage that the own listener can give (it parses requests itself). */
export interface RequestInfo {
  method: string;
  url: string;
  httpVersion: string;
  /** Lower-cased names; repeated headers joined with ", " (set-cookie stays a list), as Node does. */
  headers: Record<string, string | string[]>;
  socket: Duplex;
}

/** ws's asynchronous answer: accept with `true`; anything else rejects with `code` (default 401). */
export type VerifyClientCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void;

export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean | Promise<boolean>)
  | ((info: VerifyClientInfo, callback: VerifyClientCallback) => void);

export interface ServerOptions extends ConnectionOptions {
  port?: number;
  host?: string;
  /** Attach to this HTTP(S) server's 'upgrade' event. */
  server?: http.Server;
  /** Handle upgrades only through handleUpgrade(). */
  noServer?: boolean;
  /** Accept upgrades only for this path (others get 400 unless another 'upgrade' listener takes them). */
  path?: string;
  /**
   * ws's hook, both forms: `(info) => boolean` (or a promise of one) and `(info, cb) => void`. Only
   * `true` accepts; a hook that throws rejects with 500; one that never answers is cut by handshakeTimeout.
   */
  verifyClient?: VerifyClient;
  /** Pick a subprotocol from the offered ones; return false/undefined for none. */
  handleProtocols?: (protocols: string[], request: UpgradeRequest) => string | false | undefined;
  /** Extra headers for the 101 response. */
  headers?: Record<string, string>;
  /** Keep the set of open clients (default true). */
  clientTracking?: boolean;
  /** Bytes queued toward a peer above which it must keep taking bytes (default 64 MiB; README, Reliability). */
  maxPendingBytes?: number;
  /** How long a peer may take no bytes while over maxPendingBytes, or while we close (default 30 s). */
  stallTimeout?: number;
  /** Serve wss:// on its own listener: key, cert and the other node:tls server options. */
  tls?: tls.TlsOptions;
  /** Negotiate permessage-deflate when clients offer it (default false, as in ws). */
  perMessageDeflate?: boolean | DeflateOptions;
}

export interface ServerEvents {
  connection: [socket: WebSocket, request: UpgradeRequest];
  listening: [];
  error: [error: Error];
  close: [];
  /** ws's event for a handshake that failed on our side (a hook threw); emitted only when listened to. */
  wsClientError: [error: Error, socket: Duplex, request: UpgradeRequest];
}

type Verdict = { status: number; message?: string; headers?: Record<string, string> } | { protocol: string | undefined };

// Shared no-op listener: an 'error' on a socket with no listener would crash the process.
function ignoreError(): void {}

const kOurs = Symbol("wasmsocket.upgradeListener");
const kClaimed = Symbol("wasmsocket.claimed");
type Tagged = { [kOurs]?: true };
type ClaimedSocket = Duplex & { [kClaimed]?: true };

/** The path of a request target, without throwing on anything a client may send. */
function pathOf(target: string | undefined): string {
  const t = target ?? "/";
  const q = t.indexOf("?");
  return q === -1 ? t : t.slice(0, q);
}

/** Writes an HTTP error and closes once it is flushed (as ws's abortHandshake does). */
function abortHandshake(socket: Duplex, status: number): void {
  if (!socket.writable || socket.destroyed) return void socket.destroy();
  socket.once("finish", () => socket.destroy());
  socket.end(rejectResponse(status));
}

function requestInfo(request: UpgradeRequest, socket: Duplex): RequestInfo {
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of request.head.headers) headers[name] = name === "set-cookie" ? values : values.join(", ");
  return { method: request.method, url: request.path, httpVersion: "1.1", headers, socket };
}

export class WebSocketServer extends EventEmitter<ServerEvents> {
  readonly clients = new Set<WebSocket>();
  private readonly options: ServerOptions;
  private netServer: net.Server | tls.Server | undefined;
  private detach: (() => void) | undefined;
  private closing = false;

  constructor(options: ServerOptions, onListening?: () => void) {
    super();
    this.options = { clientTracking: true, ...options };
    if (options.server) {
      const server = options.server;
      const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on("error", ignoreError);
        try {
          if (this.options.path && pathOf(req.url) !== this.options.path) return this.unmatched(server, socket);
          this.handleUpgrade(req, socket, head, (ws, r) => this.emit("connection", ws, r));
        } catch {
          // Nothing a request carries may throw out of Node's 'upgrade' event (it would end the process).
          socket.destroy();
        }
      };
      (onUpgrade as Tagged)[kOurs] = true;
      server.on("upgrade", onUpgrade);
      // close() takes the listener off again, so a new server can take over the path (as in ws).
      this.detach = () => server.removeListener("upgrade", onUpgrade);
    } else if (!options.noServer) {
      const srv = options.tls
        ? tls.createServer({ ...options.tls }, (socket) => this.handleSocket(socket))
        : net.createServer({ noDelay: true }, (socket) => this.handleSocket(socket));
      this.netServer = srv;
      // A client that resets during the TLS handshake is not a server error.
      srv.on("tlsClientError", (_e: Error, socket: Duplex) => socket.destroy());
      srv.on("error", (e) => this.emit("error", e));
      srv.on("listening", () => this.emit("listening"));
      if (onListening) this.once("listening", onListening);
      srv.listen(options.port ?? 0, options.host);
    }
  }

  /**
   * An upgrade for another path: ws answers 400. So do we, unless a listener that is not one of our
   * servers is on the same HTTP server (it may take the socket) or another of ours took it.
   */
  private unmatched(server: http.Server, socket: ClaimedSocket): void {
    if (server.listeners("upgrade").some((l) => !(l as Tagged)[kOurs])) return;
    setImmediate(() => {
      if (!socket[kClaimed]) abortHandshake(socket, 400);
    });
  }

  /** The bound address (own listener only). */
  address(): net.AddressInfo | string | null {
    return this.netServer?.address() ?? null;
  }

  private connectionOptions(): ConnectionOptions {
    return { createBinary: binaryAsBuffer, ...this.options };
  }

  /** Runs the whole handshake on a raw socket with our own HTTP parser. */
  handleSocket(socket: Duplex): void {
    socket.on("error", ignoreError);
    if (this.closing) return void socket.destroy();
    (socket as net.Socket).setNoDelay?.(true);
    this.serve(socket, undefined, undefined, (ws, r) => this.emit("connection", ws, r));
  }

  /** ws-compatible: completes an upgrade that an HTTP server already parsed. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, request: UpgradeRequest) => void): void {
    socket.on("error", ignoreError);
    const claimed = socket as ClaimedSocket;
    if (claimed[kClaimed]) throw new Error("handleUpgrade() was called more than once with the same socket");
    claimed[kClaimed] = true;
    // Called late (after asynchronous work) for a client that is already gone: nothing to serve.
    if (!socket.readable || !socket.writable || socket.destroyed) return void socket.destroy();
    // Replay the parsed request through our own validator, so every route applies the same rules.
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    this.serve(socket, req, Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), cb, head);
  }

  /**
   * One handshake on `socket`, under the connection's handshake timeout from the start (a verifier
   * that never answers is cut by it). `replay` is a request Node already parsed, `head` what followed it.
   */
  private serve(socket: Duplex, req: http.IncomingMessage | undefined, replay: Uint8Array | undefined, cb: (ws: WebSocket, request: UpgradeRequest) => void, head?: Uint8Array): void {
    const conn = Connection.server(this.connectionOptions());
    const ws = new WebSocket(socket, conn, this.options);
    ws.onRequest = (request) => {
      this.decide(request, socket, req, (verdict) => {
        // The handshake may have timed out, or the client gone, while an asynchronous hook decided.
        if (conn.state !== "connecting" || conn.request !== request) return;
        try {
          if ("status" in verdict) conn.reject(verdict.status, verdict.headers, verdict.message);
          else conn.accept(this.acceptOptions(request, verdict.protocol));
        } catch (e) {
          // Headers a hook or the options gave that HTTP cannot carry: fail closed, with 500.
          this.clientError(e, socket, request);
          conn.reject(500);
        }
        ws.driver.requestFlush();
        if ((conn.state as string) !== "open") return; // rejected, or failed meanwhile
        this.track(ws);
        try {
          cb(ws, request);
        } catch (e) {
          // The application's own listener: reported as Node reports it, after the 101 went out.
          queueMicrotask(() => {
            throw e;
          });
        }
      });
    };
    if (replay) conn.receive(replay);
    if (head?.length) conn.receive(head);
    ws.driver.pump();
  }

  private acceptOptions(request: UpgradeRequest, protocol: string | undefined) {
    const pmd = this.options.perMessageDeflate;
    const deflate = pmd && request.extensions.length ? deflateForServer(request.extensions, pmd === true ? {} : pmd, nodeDeflateEngine) : undefined;
    return { protocol, headers: this.options.headers, extensions: deflate?.extensions, codec: deflate?.codec };
  }

  /** Calls `done` once with the verdict, synchronously when the hooks are; never throws. */
  private decide(request: UpgradeRequest, socket: Duplex, req: http.IncomingMessage | undefined, done: (v: Verdict) => void): void {
    if (this.closing) return done({ status: 503 });
    const o = this.options;
    if (o.path && pathOf(request.path) !== o.path) return done({ status: 400 });
    let answered = false;
    const once = (v: Verdict) => {
      if (answered) return;
      answered = true;
      done(v);
    };
    const failed = (e: unknown) => {
      this.clientError(e, socket, request);
      once({ status: 500 });
    };
    const proceed = () => {
      let protocol: string | undefined;
      try {
        if (o.handleProtocols && request.protocols.length) protocol = o.handleProtocols(request.protocols, request) || undefined;
      } catch (e) {
        return failed(e);
      }
      if (protocol !== undefined && !request.protocols.includes(protocol)) return failed(new TypeError("handleProtocols returned a protocol that was not offered"));
      once({ protocol });
    };
    const verify = o.verifyClient;
    if (!verify) return proceed();
    const info: VerifyClientInfo = {
      origin: request.origin,
      secure: socket instanceof tls.TLSSocket || (socket as { encrypted?: boolean }).encrypted === true,
      req: req ?? (requestInfo(request, socket) as unknown as http.IncomingMessage),
    };
    // Fail closed: only `true` accepts; a status a hook gives is used when it is an HTTP error.
    const answer: VerifyClientCallback = (result, code, message, headers) => {
      if (result === true) return proceed();
      const status = typeof code === "number" && code >= 400 && code <= 599 ? code : 401;
      once({ status, message, headers });
    };
    try {
      if (verify.length >= 2) {
        (verify as (i: VerifyClientInfo, cb: VerifyClientCallback) => void)(info, answer);
        return;
      }
      const v = (verify as (i: VerifyClientInfo) => unknown)(info);
      if (v && typeof (v as PromiseLike<unknown>).then === "function") {
        (v as PromiseLike<unknown>).then((r) => answer(r === true), failed);
      } else if (typeof v === "number") answer(false, v);
      else answer(v === true);
    } catch (e) {
      failed(e);
    }
  }

  private clientError(e: unknown, socket: Duplex, request: UpgradeRequest): void {
    if (this.listenerCount("wsClientError") > 0) this.emit("wsClientError", e instanceof Error ? e : new Error(String(e)), socket, request);
  }

  private track(ws: WebSocket): void {
    if (!this.options.clientTracking) return;
    this.clients.add(ws);
    ws.on("close", () => this.clients.delete(ws));
  }

  /** Stops accepting, closes every client with 1001, and calls back once all are gone. */
  close(cb?: (err?: Error) => void): void {
    this.closing = true;
    this.detach?.();
    this.detach = undefined;
    for (const ws of this.clients) ws.close(CloseCode.GoingAway, "server shutting down");
    const done = () => {
      this.emit("close");
      cb?.();
    };
    if (this.netServer) this.netServer.close(() => done());
    else queueMicrotask(done);
  }
}

export type { HttpHead };
