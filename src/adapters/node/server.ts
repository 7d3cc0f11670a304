// ws 8's WebSocketServer on our engine. Three doors, as in ws: its own listener (`port`: an internal
// http.Server, so every request is Node's own IncomingMessage), an http(s).Server's 'upgrade' event
// (`server`), or upgrades the application hands over (`noServer` + handleUpgrade). What ws does not
// do and we do (README, "From ws"): every socket gets an error listener before anything else,
// nothing a request carries or a hook throws escapes a Node event, only an explicit yes from
// verifyClient accepts (a promise too), a hook that never answers is cut by `handshakeTimeout`, and
// two of our servers on one http.Server with different paths do not answer each other's requests.
// A fourth door, ours: extended CONNECT streams of a node:http2 server (RFC 8441; ./http2-server.ts).
// Past 350 lines because it is ws's whole WebSocketServer (three doors, close(), clients, hooks and
// events); the decision on a request lives in ../upgrade-policy.ts.
import { EventEmitter } from "node:events";
import { Topics, type PublishData } from "../topics.js";
import type { Broker } from "../broker.js";
import http from "node:http";
import https from "node:https";
import type http2 from "node:http2";
import { attachHttp2, handleStream, isHttp2Server, type Http2AnyServer } from "./http2-server.js";
import type * as net from "node:net";
import type * as tls from "node:tls";
import { acceptKey } from "../../protocol/handshake/accept.js";
import type { Duplex } from "node:stream";
import type { MessageCodec } from "../../protocol/connection.js";
import { checkRequest, decideWhileOpen, type VerifyClient as PolicyVerifyClient } from "../upgrade-policy.js";
import { defaultDeflateEngine, deflateOptions, type PerMessageDeflateOptions } from "../deflate.js";
import { WebSocket, type SocketOptions } from "./websocket.js";
import { rethrowLater } from "../events.js";

/** What verifyClient is given, as in ws. */
export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: http.IncomingMessage;
}

export type { VerifyClientCallback } from "../upgrade-policy.js";

/** ws's hook, both forms (upgrade-policy.ts): a boolean, a status or a promise of either; or `(info, cb)`. */
export type VerifyClient = PolicyVerifyClient<VerifyClientInfo>;

export interface ServerOptions<T extends typeof WebSocket = typeof WebSocket> extends SocketOptions {
  host?: string;
  port?: number;
  backlog?: number;
  /** Attach to this HTTP(S) server's 'upgrade' event; a node:http2 server's WebSocket streams too (README, "HTTP/2"). */
  server?: http.Server | https.Server | Http2AnyServer;
  /** Handle upgrades only through handleUpgrade(). */
  noServer?: boolean;
  /** Accept upgrades only for this path (others get 400 unless another 'upgrade' listener takes them). */
  path?: string;
  /**
   * ws's hook, both forms: `(info) => boolean` (or a promise of one) and `(info, cb) => void`. Only
   * `true` accepts; a hook that throws rejects with 500; one that never answers is cut by handshakeTimeout.
   */
  verifyClient?: VerifyClient;
  /** Picks the subprotocol from the offered ones (a Set, in the client's order); false for none. */
  handleProtocols?: (protocols: Set<string>, request: http.IncomingMessage) => string | false;
  /** Keep the set of open clients in `clients` (default true). */
  clientTracking?: boolean;
  /** Negotiate permessage-deflate when clients offer it (default false, as in ws). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** The class to make connections with (a subclass of WebSocket). */
  WebSocket?: T;
  /** An addition: time a verifyClient hook may take to answer, ms (default 10 s; 0: no limit). */
  handshakeTimeout?: number;
  /** An addition: extra headers for every 101 response (ws: the 'headers' event). */
  headers?: Record<string, string>;
  /** An addition: serve wss:// on the own listener with these node:tls server options (key, cert...). */
  tls?: tls.TlsOptions;
  /** An addition (Bun's option): bytes queued for a subscriber beyond which publishes skip it (default 16 MiB). */
  backpressureLimit?: number;
  /** An addition (Bun's option): close a subscriber over the limit with 1013 instead of skipping it. */
  closeOnBackpressureLimit?: boolean;
  /** An addition: joins the topics of several server processes (RedisBroker). */
  broker?: Broker;
}

export interface ServerEvents<W = WebSocket> {
  connection: [socket: W, request: http.IncomingMessage];
  /** The 101's header lines, before they are written: listeners may add to them. */
  headers: [headers: string[], request: http.IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
  /** A handshake that failed a check; when listened to, the listener answers the socket itself. */
  wsClientError: [error: Error, socket: Duplex, request: http.IncomingMessage];
}

// Shared no-op listener: an 'error' on a socket with no listener would crash the process.
function ignoreError(): void {}
function onAdoptedClose(this: WebSocket): void {
  this._wss?._release(this);
}

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

/** Writes an HTTP error and closes once it is flushed (ws's abortHandshake). Never throws. */
function abortHandshake(socket: Duplex, code: number, message?: string, headers?: http.OutgoingHttpHeaders): void {
  if (!socket.writable || socket.destroyed) return void socket.destroy();
  const status = http.STATUS_CODES[code] ?? "Error";
  // The application's message goes out as it gave it (UTF-8, as ws sends it).
  const body = message ?? status;
  const all: http.OutgoingHttpHeaders = { Connection: "close", "Content-Type": "text/html", "Content-Length": Buffer.byteLength(body), ...headers };
  const lines: string[] = [];
  for (const [k, v] of Object.entries(all)) {
    for (const value of Array.isArray(v) ? v : [v]) {
      const line = `${k}: ${value}`;
      // Headers a hook gave that HTTP cannot carry: fail closed, with a plain 500.
      if (/[\r\n\0]/.test(line)) return abortHandshake(socket, 500);
      lines.push(line);
    }
  }
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 ${code} ${status}\r\n${lines.join("\r\n")}\r\n\r\n${body}`);
}

export class WebSocketServer<T extends typeof WebSocket = typeof WebSocket> extends EventEmitter<ServerEvents<InstanceType<T>>> {
  /** The open connections (with `clientTracking`, the default). */
  clients: Set<InstanceType<T>>;
  /** The options as given, with ws's defaults filled in. */
  options: ServerOptions<T>;
  /** The path this server serves, if limited to one. */
  get path(): string {
    return this.options.path as string;
  }
  private _server: http.Server | https.Server | Http2AnyServer | null = null;
  private _removeListeners: (() => void) | null = null;
  private _state: 0 | 1 | 2 = 0; // running, closing, closed
  private _shouldEmitClose = false;
  /** Publish/subscribe among this server's sockets (and a broker's other processes). */
  private readonly _topics: Topics;

  constructor(options: ServerOptions<T>, callback?: () => void) {
    super();
    options = { clientTracking: true, perMessageDeflate: false, handshakeTimeout: 10_000, WebSocket: WebSocket as T, ...options };
    if (
      (options.port == null && !options.server && !options.noServer) ||
      (options.port != null && (options.server || options.noServer)) ||
      (options.server && options.noServer)
    ) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (options.port != null) {
      const answer426 = (_req: http.IncomingMessage, res: http.ServerResponse) => {
        const body = http.STATUS_CODES[426]!;
        res.writeHead(426, { "Content-Length": body.length, "Content-Type": "text/plain" });
        res.end(body);
      };
      // The opening handshake's deadline covers the request head too (slowloris): Node's own timers.
      const ht = options.handshakeTimeout ?? 0;
      const timeouts: http.ServerOptions = ht > 0 ? { headersTimeout: ht, requestTimeout: ht, connectionsCheckingInterval: Math.min(1000, ht) } : {};
      // With `tls` (ours: ws has no own TLS listener) the TLS handshake gets it too, unless the tls
      // options set their own: Node's default (120 s) held a peer that never sent a ClientHello.
      const tlsDeadline = ht > 0 ? { handshakeTimeout: ht } : {};
      const server = options.tls ? https.createServer({ ...tlsDeadline, ...options.tls, ...timeouts }, answer426) : http.createServer(timeouts, answer426);
      // A client that resets during the TLS handshake is not a server error.
      server.on("tlsClientError", (_e: Error, socket: Duplex) => socket.destroy());
      this._server = server;
      server.listen(options.port, options.host, options.backlog, callback);
    } else if (options.server) {
      this._server = options.server;
    }
    // As ws: no set at all when clients are not tracked.
    this.clients = (options.clientTracking ? new Set() : undefined) as Set<InstanceType<T>>;
    this.options = options;
    this._topics = new Topics(options);
    this._topics.onError = (err) => {
      // A broker's outage beyond its bound: the application hears of it, the process does not die.
      if (this.listenerCount("error") > 0) this.emit("error", err);
      else process.emitWarning(err);
    };
    const server = this._server;
    if (server) {
      const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on("error", ignoreError);
        try {
          if (!this.shouldHandle(req) && this.options.server) return this.unmatched(server, socket);
          this.handleUpgrade(req, socket, head, (ws, r) => this.emit("connection", ws, r));
        } catch {
          // Nothing a request carries may throw out of Node's 'upgrade' event (it would end the process).
          socket.destroy();
        }
      };
      (onUpgrade as Tagged)[kOurs] = true;
      const onListening = () => this.emit("listening");
      const onError = (e: Error) => this.emit("error", e);
      server.on("listening", onListening);
      server.on("error", onError);
      server.on("upgrade", onUpgrade);
      const detachHttp2 = isHttp2Server(server) ? attachHttp2(server, this, (ws, r) => this.emit("connection", ws, r)) : undefined;
      this._removeListeners = () => {
        detachHttp2?.();
        server.removeListener("listening", onListening);
        server.removeListener("error", onError);
        server.removeListener("upgrade", onUpgrade);
      };
    }
  }

  /**
   * An upgrade for another path on a shared http.Server: ws answers 400. So do we, unless a listener
   * that is not one of our servers is on it (it may take the socket), or another of ours took it.
   */
  private unmatched(server: http.Server | https.Server | Http2AnyServer, socket: ClaimedSocket): void {
    if (server.listeners("upgrade").some((l) => !(l as Tagged)[kOurs])) return;
    setImmediate(() => {
      if (!socket[kClaimed]) abortHandshake(socket, 400);
    });
  }

  /** The bound address (own listener or the server given). */
  address(): net.AddressInfo | string | null {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (!this._server) return null;
    return this._server.address();
  }

  /** ws: whether this server takes the request (its path), overridable. */
  shouldHandle(req: http.IncomingMessage): boolean {
    return !this.options.path || pathOf(req.url) === this.options.path;
  }

  /**
   * ws 8: stops accepting new connections; open ones are left to close by themselves (call
   * terminate() or close() on each to end them). 'close' (and the callback) come once the own
   * listener closed, or at once for `server`/`noServer` when no client is left.
   */
  close(cb?: (err?: Error) => void): void {
    if (this._state === 2) {
      if (cb) this.once("close", () => cb(new Error("The server is not running")));
      process.nextTick(() => this.emitClose());
      return;
    }
    if (cb) this.once("close", cb);
    if (this._state === 1) return;
    this._state = 1;
    if (this.options.noServer || this.options.server) {
      this._removeListeners?.();
      this._removeListeners = null;
      this._server = null;
      if (this.options.clientTracking && this.clients.size) this._shouldEmitClose = true;
      else process.nextTick(() => this.emitClose());
    } else {
      const server = this._server!;
      this._removeListeners?.();
      this._removeListeners = null;
      this._server = null;
      server.close(() => this.emitClose());
    }
  }

  private emitClose(): void {
    this._state = 2;
    this.emit("close");
  }

  /**
   * An addition (Bun's server.publish): sends `data` to every socket subscribed to `topic`, framed
   * once, and to a broker's other processes. Returns the payload's byte length, or 0 when nobody took it.
   */
  publish(topic: string, data: PublishData, compress = true): number {
    return this._topics.publish(topic, data, compress);
  }

  /** An addition (Bun's): how many of this server's sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this._topics.subscriberCount(topic);
  }

  /** ws: completes an upgrade that an HTTP server parsed; `cb(ws, req)` once it is open. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: InstanceType<T>, request: http.IncomingMessage) => void): void {
    socket.on("error", ignoreError);
    const claimed = socket as ClaimedSocket;
    if (claimed[kClaimed]) throw new Error("server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration");
    claimed[kClaimed] = true;
    const options = this.options;
    const verifyClient = options.verifyClient;
    const handleProtocols = options.handleProtocols;
    // Node parsed the request: the policy reads req.method and req.headers as they are.
    const invalid = checkRequest(req);
    if (invalid) return this.refuse(req, socket, invalid.status, invalid.message, invalid.headers as http.OutgoingHttpHeaders | undefined);
    // verifyClient may answer later: the socket closing ends the wait, and so does handshakeTimeout.
    decideWhileOpen(
      req,
      {
        verifyClient,
        verifyInfo: () => ({ origin: req.headers[Number(req.headers["sec-websocket-version"]) === 8 ? "sec-websocket-origin" : "origin"] as string | undefined, secure: isSecure(req), req }),
        handleProtocols: handleProtocols && ((offered) => handleProtocols(offered, req)),
        deflate: deflateOptions(options.perMessageDeflate),
        engine: defaultDeflateEngine,
        refuseUnacceptableDeflate: true,
        shouldHandle: () => this.shouldHandle(req),
        stillWanted: () => (!socket.readable || !socket.writable || socket.destroyed ? "gone" : this._state > 0 ? 503 : undefined),
      },
      socket,
      options.handshakeTimeout ?? 0,
      () => socket.destroy(),
      (decision) => {
        switch (decision.type) {
          case "accept":
            return this.completeUpgrade(decision.protocol, decision.deflate, req, socket, head, cb);
          case "invalid":
            return this.refuse(req, socket, decision.status, decision.message, decision.headers as http.OutgoingHttpHeaders | undefined);
          case "refused":
            return abortHandshake(socket, decision.status, decision.message, decision.headers as http.OutgoingHttpHeaders | undefined);
          case "failed":
            this._clientError(decision.error, socket, req);
            return abortHandshake(socket, 500);
          case "gone":
            return void socket.destroy();
        }
      },
    );
  }

  private completeUpgrade(
    protocol: string,
    deflate: { extensions: string; codec: MessageCodec } | undefined,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: InstanceType<T>, request: http.IncomingMessage) => void,
  ): void {
    const key = req.headers["sec-websocket-key"]!;
    const lines = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${acceptKey(key)}`,
    ];
    if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    if (deflate) lines.push(`Sec-WebSocket-Extensions: ${deflate.extensions}`);
    const Ctor = this.options.WebSocket!;
    const ws = new Ctor(null, this.options as never) as InstanceType<T>;
    try {
      for (const [k, v] of Object.entries(this.options.headers ?? {})) lines.push(`${k}: ${v}`);
      this.emit("headers", lines, req);
      if (lines.some((l) => /[\r\n\0]/.test(l))) throw new TypeError("a 101 header line holds a line break or NUL");
    } catch (e) {
      // A 'headers' listener that throws, or headers HTTP cannot carry: fail closed, with 500.
      deflate?.codec.close?.();
      this._clientError(e, socket, req);
      return abortHandshake(socket, 500);
    }
    socket.write(lines.concat("\r\n").join("\r\n"));
    this._adopt(socket, protocol, deflate, req, cb, head, ws);
  }

  /**
   * An addition: completes a WebSocket handshake on an HTTP/2 extended CONNECT stream (RFC 8441),
   * as handleUpgrade() does for an HTTP/1.1 upgrade (for `noServer`, or an application's own
   * 'stream' listener); a refused request is answered on the stream. `cb(ws, req)` once it is open.
   */
  handleStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, cb: (ws: InstanceType<T>, request: http.IncomingMessage) => void): void {
    handleStream(this, stream, headers, cb);
  }

  /** @internal 0 running, 1 closing, 2 closed (./http2-server.ts). */
  _runState(): number {
    return this._state;
  }

  /** @internal Opens a WebSocket over `socket` once the response went out, tracks it, and calls `cb`. */
  _adopt(
    socket: Duplex,
    protocol: string,
    deflate: { extensions: string; codec: MessageCodec } | undefined,
    req: http.IncomingMessage,
    cb: (ws: InstanceType<T>, request: http.IncomingMessage) => void,
    head: Uint8Array = Buffer.alloc(0),
    ws: InstanceType<T> = new this.options.WebSocket!(null, this.options as never) as InstanceType<T>,
  ): InstanceType<T> {
    ws.setSocket(socket, head, { protocol, extensions: deflate ? "permessage-deflate" : "", codec: deflate?.codec });
    // The socket's own 'error' listener is in place (driveSocket): ours of the upgrade go, as ws's
    // does, so the socket keeps one listener rather than an array of them (~200 B per connection).
    while (socket.listeners("error").includes(ignoreError)) socket.removeListener("error", ignoreError);
    ws._topics = this._topics;
    const tracking = this.options.clientTracking;
    if (tracking) this.clients.add(ws);
    // One listener function for all sockets (no closure and context per connection: ~100 B each).
    ws._wss = this;
    ws.on("close", onAdoptedClose);
    try {
      cb(ws, req);
    } catch (e) {
      // The application's own listener: reported as Node reports it, after the 101 went out.
      rethrowLater(e);
    }
    return ws;
  }

  /** @internal A socket of ours closed: it leaves its topics and the clients. */
  _release(ws: WebSocket): void {
    this._topics.leave(ws as InstanceType<T>);
    if (!this.options.clientTracking) return;
    this.clients.delete(ws as InstanceType<T>);
    if (this._shouldEmitClose && !this.clients.size) process.nextTick(() => this.emitClose());
  }

  /** A failed check: 'wsClientError' when listened to (the listener answers), else the HTTP error. */
  private refuse(req: http.IncomingMessage, socket: Duplex, code: number, message: string, headers?: http.OutgoingHttpHeaders): void {
    if (this.listenerCount("wsClientError")) {
      this.emit("wsClientError", new Error(message), socket, req);
      return;
    }
    abortHandshake(socket, code, message, headers);
  }

  /** @internal */
  _clientError(e: unknown, socket: Duplex, req: http.IncomingMessage): void {
    if (this.listenerCount("wsClientError") > 0) this.emit("wsClientError", e instanceof Error ? e : new Error(String(e)), socket, req);
  }
}

function isSecure(req: http.IncomingMessage): boolean {
  const s = req.socket as { authorized?: boolean; encrypted?: boolean } | undefined;
  return !!(s?.authorized || s?.encrypted);
}
