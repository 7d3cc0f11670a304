// The client side of ws 8's WebSocket, on Node's own HTTP stack: the upgrade is an http(s).request
// (so `agent` and proxy agents, `createConnection`, `lookup`, `family`, `localAddress`, every TLS
// option, ws+unix: sockets and redirects work as in ws), the server's answer is checked as ws checks
// it (same error messages), and the upgraded socket is handed to the WebSocket's driver. Node's
// modules are used through their default export, looked up at each call: tools that patch
// `http.request` or `tls.connect` (proxies, instrumentation, tests) see our requests, as with ws.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { randomBytes } from "node:crypto";
import { acceptKey } from "../../protocol/handshake/accept.js";
import { TOKEN } from "../../protocol/handshake/client.js";
import { unescape } from "node:querystring";
import type { Duplex } from "node:stream";
import type { ClientHttp2Session } from "node:http2";
import type { ConnectionOptions } from "../../protocol/connection.js";
import { clientNegotiator, type PerMessageDeflateOptions } from "../deflate.js";
import type { DriverLimits } from "../driver.js";
import { CONNECTING } from "../facade.js";
import { rethrowLater } from "../events.js";
import { checkAnswer, emitErrorAndClose, kAborted, type HandshakingSocket } from "./client-handshake.js";
import { openOverHttp2 } from "./http2-client.js";

export { kAborted, type HandshakingSocket } from "./client-handshake.js";

/** ws's options for `new WebSocket(url, protocols, options)`, plus ours (README, "From ws"). `W`: the socket finishRequest is given. */
export interface ClientOptions<W = HandshakingSocket> extends Omit<ConnectionOptions, "negotiator">, DriverLimits, Omit<https.RequestOptions, "timeout" | "path" | "host" | "port" | "protocol" | "method"> {
  protocols?: string | string[];
  protocolVersion?: 8 | 13;
  /** Time allowed for the opening handshake, ms (ws: no default). */
  handshakeTimeout?: number;
  origin?: string;
  headers?: http.OutgoingHttpHeaders;
  followRedirects?: boolean;
  maxRedirects?: number;
  maxPayload?: number;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  skipUTF8Validation?: boolean;
  allowSynchronousEvents?: boolean;
  autoPong?: boolean;
  closeTimeout?: number;
  /** Called with the request instead of `req.end()` (ws: to write a body or headers late). */
  finishRequest?: (req: http.ClientRequest, ws: W) => void;
  createConnection?: (options: any, cb?: any) => Duplex;
  generateMask?: (mask: Buffer) => void;
  /** An addition kept from earlier versions: TLS options as one object (ws takes them at top level). */
  tls?: tls.ConnectionOptions;
  /**
   * An addition: open the socket as a stream of an HTTP/2 session (RFC 8441), shared with the other
   * sockets to the same origin and TLS options, or of the session given; HTTP/1.1 when the server
   * does not offer extended CONNECT (`ws.httpVersion` says which). ws:// means h2c with prior knowledge.
   */
  http2?: boolean | ClientHttp2Session;
}

function netConnect(options: net.NetConnectOpts & { socketPath?: string; path?: string }): net.Socket {
  options.path = options.socketPath;
  return net.connect(options);
}

function tlsConnect(options: tls.ConnectionOptions & { path?: string; host?: string }): tls.TLSSocket {
  options.path = undefined;
  if (!options.servername && options.servername !== "") options.servername = net.isIP(options.host ?? "") ? "" : options.host;
  return tls.connect(options);
}

/** State kept across redirects of one WebSocket. */
interface Origin {
  ipc: boolean;
  secure: boolean;
  hostOrSocketPath: string | undefined;
}
const origins = new WeakMap<HandshakingSocket, Origin>();

/** Starts the opening handshake of `ws` (ws's initAsClient). Throws for an invalid URL or protocols. */
export function initAsClient<W extends HandshakingSocket>(ws: W, address: string | URL, protocols: string[], options: ClientOptions<W>): void {
  const opts: Record<string, any> = {
    protocolVersion: 13,
    perMessageDeflate: true,
    followRedirects: false,
    maxRedirects: 10,
    ...options.tls,
    ...options,
    socketPath: undefined,
    hostname: undefined,
    protocol: undefined,
    timeout: undefined,
    method: "GET",
    host: undefined,
    path: undefined,
    port: undefined,
  };
  delete opts.protocols;
  if (opts.protocolVersion !== 8 && opts.protocolVersion !== 13) {
    throw new RangeError(`Unsupported protocol version: ${opts.protocolVersion} (supported versions: 8, 13)`);
  }
  let url: URL;
  if (address instanceof URL) url = address;
  else {
    try {
      url = new URL(address);
    } catch {
      throw new SyntaxError(`Invalid URL: ${address}`);
    }
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    url = new URL(url);
    url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
  }
  ws._url = url.href;
  const secure = url.protocol === "wss:";
  const ipc = url.protocol === "ws+unix:";
  let invalid: string | undefined;
  if (url.protocol !== "ws:" && !secure && !ipc) invalid = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
  else if (ipc && !url.pathname) invalid = "The URL's pathname is empty";
  else if (url.hash) invalid = "The URL contains a fragment identifier";
  if (invalid) {
    const err = new SyntaxError(invalid);
    if (ws._redirects === 0) throw err;
    return emitErrorAndClose(ws, err);
  }

  const key = randomBytes(16).toString("base64");
  const request = secure ? https.request : http.request;
  const protocolSet = new Set<string>();
  opts.createConnection = opts.createConnection || (secure ? tlsConnect : netConnect);
  opts.defaultPort = opts.defaultPort || (secure ? 443 : 80);
  opts.port = url.port || (secure ? 443 : 80);
  opts.host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  opts.headers = {
    ...opts.headers,
    "Sec-WebSocket-Version": opts.protocolVersion,
    "Sec-WebSocket-Key": key,
    Connection: "Upgrade",
    Upgrade: "websocket",
  };
  opts.path = url.pathname + url.search;
  opts.timeout = opts.handshakeTimeout;
  const negotiator = clientNegotiator(opts.perMessageDeflate);
  if (negotiator) opts.headers["Sec-WebSocket-Extensions"] = negotiator.offer;
  for (const p of protocols) {
    if (typeof p !== "string" || !TOKEN.test(p) || protocolSet.has(p)) throw new SyntaxError("An invalid or duplicated subprotocol was specified");
    protocolSet.add(p);
  }
  if (protocols.length) opts.headers["Sec-WebSocket-Protocol"] = protocols.join(",");
  if (opts.origin) {
    if (opts.protocolVersion < 13) opts.headers["Sec-WebSocket-Origin"] = opts.origin;
    else opts.headers.Origin = opts.origin;
  }
  if (url.username || url.password) opts.auth = `${unescape(url.username)}:${unescape(url.password)}`;
  if (ipc) {
    const i = opts.path.indexOf(":");
    if (i === -1) {
      opts.socketPath = opts.path;
      opts.path = "";
    } else {
      opts.socketPath = opts.path.slice(0, i);
      opts.path = opts.path.slice(i + 1);
    }
  }

  if (opts.http2 && !ipc && ws._redirects === 0) {
    const fallback = () => initAsClient(ws, url, protocols, { ...options, http2: false });
    return openOverHttp2(ws, { url, secure, headers: opts.headers, auth: opts.auth, offered: protocolSet, negotiator, options: opts }, fallback);
  }

  let req: http.ClientRequest;
  if (opts.followRedirects) {
    if (ws._redirects === 0) {
      origins.set(ws, { ipc, secure, hostOrSocketPath: ipc ? opts.socketPath : url.host });
      // Headers in lower case, on a copy: a redirect may drop some without touching the caller's object.
      const headers = options.headers;
      options = { ...options, headers: {} };
      for (const [k, v] of Object.entries(headers ?? {})) options.headers![k.toLowerCase()] = v;
    } else if (ws.listenerCount("redirect") === 0) {
      const o = origins.get(ws)!;
      const sameHost = ipc ? o.ipc && opts.socketPath === o.hostOrSocketPath : !o.ipc && url.host === o.hostOrSocketPath;
      if (!sameHost || (o.secure && !secure)) {
        // As curl does: credentials do not follow a redirect to another host or to plain text.
        delete opts.headers.authorization;
        delete opts.headers.cookie;
        if (!sameHost) delete opts.headers.host;
        opts.auth = undefined;
      }
    }
    // The first Authorization wins (curl's rule).
    if (opts.auth && !options.headers!.authorization) options.headers!.authorization = "Basic " + Buffer.from(opts.auth).toString("base64");
    req = ws._req = request(opts);
    if (ws._redirects) {
      try {
        ws.emit("redirect", ws.url, req);
      } catch (e) {
        // The redirect is followed as if the listener had returned; the exception surfaces afterwards.
        // (It left the request without its listeners: the socket stayed CONNECTING for good, and
        // the request's 'socket hang up' was a second uncaught exception.)
        rethrowLater(e);
      }
    }
  } else {
    req = ws._req = request(opts);
  }

  if (opts.timeout) req.on("timeout", () => ws.abortHandshake("Opening handshake has timed out"));

  req.on("error", (err) => {
    if (ws._req !== req || (req as { [kAborted]?: boolean })[kAborted]) return;
    ws._req = null;
    emitErrorAndClose(ws, err);
  });

  req.on("response", (res) => {
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (location && opts.followRedirects && status >= 300 && status < 400) {
      if (++ws._redirects > opts.maxRedirects) return ws.abortHandshake("Maximum redirects exceeded");
      (req as { [kAborted]?: boolean })[kAborted] = true;
      req.destroy();
      let next: URL;
      try {
        next = new URL(location, address);
      } catch {
        return emitErrorAndClose(ws, new SyntaxError(`Invalid URL: ${location}`));
      }
      initAsClient(ws, next, protocols, options);
    } else {
      let handled: boolean;
      try {
        handled = ws.emit("unexpected-response", req, res);
      } catch (e) {
        // A throwing listener does not leave the connection hanging: it fails, and the exception
        // surfaces after that (fail closed, lose nothing).
        ws.abortHandshake(`Unexpected server response: ${status}`);
        rethrowLater(e);
        return;
      }
      if (!handled) ws.abortHandshake(`Unexpected server response: ${status}`);
    }
  });

  req.on("upgrade", (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Errors on the socket are ours from here on (the request no longer listens).
    socket.on("error", noop);
    try {
      ws.emit("upgrade", res);
    } catch (e) {
      // The handshake goes on as if the listener had returned; the exception surfaces afterwards.
      rethrowLater(e);
    }
    // The application may have closed the connection from an 'upgrade' listener.
    if (ws.readyState !== CONNECTING) return;
    ws._req = null;
    const fail = (message: string) => ws.abortHandshake(message, socket);
    const upgrade = res.headers.upgrade;
    if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return fail("Invalid Upgrade header");
    const digest = acceptKey(key);
    if (res.headers["sec-websocket-accept"] !== digest) return fail("Invalid Sec-WebSocket-Accept header");
    const answer = checkAnswer(protocolSet, negotiator, res.headers["sec-websocket-protocol"], res.headers["sec-websocket-extensions"]);
    if (typeof answer === "string") return fail(answer);
    socket.removeListener("error", noop);
    ws.setSocket(socket, head, answer);
  });

  if (opts.finishRequest) opts.finishRequest(req, ws);
  else req.end();
}

function noop(): void {}

