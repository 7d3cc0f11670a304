// A ws-like server: listens itself, attaches to an http(s).Server's 'upgrade' event, or serves
// upgrades you hand it (noServer + handleUpgrade).
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

export interface ServerOptions extends ConnectionOptions {
  port?: number;
  host?: string;
  /** Attach to this HTTP(S) server's 'upgrade' event. */
  server?: http.Server;
  /** Handle upgrades only through handleUpgrade(). */
  noServer?: boolean;
  /** Accept upgrades only for this path. */
  path?: string;
  /** Decide whether to accept: return false (or a status) to reject. */
  verifyClient?: (request: UpgradeRequest) => boolean | number;
  /** Pick a subprotocol from the offered ones; return false/undefined for none. */
  handleProtocols?: (protocols: string[], request: UpgradeRequest) => string | false | undefined;
  /** Extra headers for the 101 response. */
  headers?: Record<string, string>;
  /** Keep the set of open clients (default true). */
  clientTracking?: boolean;
  /** Bytes queued toward a peer that does not read before it is dropped (default 64 MiB). */
  maxPendingBytes?: number;
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
}


export class WebSocketServer extends EventEmitter<ServerEvents> {
  readonly clients = new Set<WebSocket>();
  private readonly options: ServerOptions;
  private netServer: net.Server | tls.Server | undefined;
  private closing = false;

  constructor(options: ServerOptions, onListening?: () => void) {
    super();
    this.options = { clientTracking: true, ...options };
    if (options.server) {
      options.server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (this.options.path && new URL(req.url ?? "/", "http://x").pathname !== this.options.path) return;
        this.handleUpgrade(req, socket, head, (ws, r) => this.emit("connection", ws, r));
      });
    } else if (!options.noServer) {
      const srv = options.tls
        ? tls.createServer({ ...options.tls }, (socket) => this.handleSocket(socket))
        : net.createServer({ noDelay: true }, (socket) => this.handleSocket(socket));
      this.netServer = srv;
      srv.on("error", (e) => this.emit("error", e));
      srv.on("listening", () => this.emit("listening"));
      if (onListening) this.once("listening", onListening);
      srv.listen(options.port ?? 0, options.host);
    }
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
    if (this.closing) return void socket.destroy();
    (socket as net.Socket).setNoDelay?.(true);
    const conn = Connection.server(this.connectionOptions());
    const ws = new WebSocket(socket, conn, this.options.maxPendingBytes);
    ws.onRequest = (request) => {
      const verdict = this.decide(request);
      if (typeof verdict === "number") return conn.reject(verdict);
      conn.accept(this.acceptOptions(request, verdict.protocol));
      this.track(ws);
      this.emit("connection", ws, request);
    };
  }

  /** ws-compatible: completes an upgrade that an HTTP server already parsed. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, request: UpgradeRequest) => void): void {
    const conn = Connection.server(this.connectionOptions());
    // Replay the parsed request through our own validator, so every route applies the same rules.
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    conn.receive(Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"));
    const request = conn.request;
    if (!request) {
      const out = conn.takeOutgoing();
      for (const c of out) socket.write(c);
      socket.end();
      return;
    }
    conn.takeEvents();
    const verdict = this.decide(request);
    if (typeof verdict === "number") {
      socket.end(rejectResponse(verdict));
      return;
    }
    conn.accept(this.acceptOptions(request, verdict.protocol));
    const ws = new WebSocket(socket, conn, this.options.maxPendingBytes);
    this.track(ws);
    cb(ws, request);
    if (head.length) conn.receive(head);
    ws.driver.pump();
  }

  private acceptOptions(request: UpgradeRequest, protocol: string | undefined) {
    const pmd = this.options.perMessageDeflate;
    const deflate = pmd && request.extensions.length ? deflateForServer(request.extensions, pmd === true ? {} : pmd, nodeDeflateEngine) : undefined;
    return { protocol, headers: this.options.headers, extensions: deflate?.extensions, codec: deflate?.codec };
  }

  private decide(request: UpgradeRequest): number | { protocol: string | undefined } {
    if (this.closing) return 503;
    const o = this.options;
    if (o.path && request.path.split("?")[0] !== o.path) return 400;
    if (o.verifyClient) {
      const v = o.verifyClient(request);
      if (v === false) return 401;
      if (typeof v === "number") return v;
    }
    let protocol: string | undefined;
    if (o.handleProtocols && request.protocols.length) protocol = o.handleProtocols(request.protocols, request) || undefined;
    return { protocol };
  }

  private track(ws: WebSocket): void {
    if (!this.options.clientTracking) return;
    this.clients.add(ws);
    ws.on("close", () => this.clients.delete(ws));
  }

  /** Stops accepting, closes every client with 1001, and calls back once all are gone. */
  close(cb?: (err?: Error) => void): void {
    this.closing = true;
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
