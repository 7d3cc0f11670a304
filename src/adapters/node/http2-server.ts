// WebSockets over HTTP/2 (RFC 8441) for the Node WebSocketServer: an extended CONNECT stream
// (`:method CONNECT`, `:protocol websocket`) on a node:http2 server becomes a WebSocket. The request
// is checked here (RFC 8441 §4–5: :scheme, :path, :authority, sec-websocket-version 13; no key, no
// accept), decided by the same policy as an HTTP/1.1 upgrade (../upgrade-policy.ts: verifyClient,
// handleProtocols, permessage-deflate, fail closed), answered with `:status 200` or a 4xx/5xx that
// ends the stream, and the Http2Stream (a Duplex) is then driven like any upgraded socket. What the
// stream does maps to the WebSocket as a TCP socket's would: END_STREAM after our close frame (then
// RST_STREAM(NO_ERROR) if the peer does not end its side), a RST_STREAM or the session's end is 1006
// for that socket only, HTTP/2 flow control is backpressure.
// A GOAWAY from the peer closes the session's WebSockets with 1001. Other streams are left alone.
import http2 from "node:http2";
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import type { MessageCodec } from "../../protocol/connection.js";
import { decideWhileOpen, type VerifyClient } from "../upgrade-policy.js";
import { defaultDeflateEngine, deflateOptions, type PerMessageDeflateOptions } from "../deflate.js";
import { rethrowLater } from "../events.js";
import { checkExtendedConnect, first, isWebSocketConnect, refuseStream, requestOf, useRequest } from "./http2-request.js";

/** node:http2's servers, cleartext (h2c) or TLS (with `allowHTTP1`, HTTP/1.1 upgrades on the same port). */
export type Http2AnyServer = http2.Http2Server | http2.Http2SecureServer;

/** A WebSocket as this module needs it (the server's sockets). */
interface Closable {
  close(code?: number, reason?: string): void;
  readonly readyState: number;
}

/** What of a WebSocketServer the HTTP/2 door uses (server.ts passes the server itself). */
export interface StreamHost<W extends Closable> {
  readonly options: {
    verifyClient?: VerifyClient<{ origin: string | undefined; secure: boolean; req: http.IncomingMessage }> | undefined;
    handleProtocols?: ((protocols: Set<string>, request: http.IncomingMessage) => string | false) | undefined;
    perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
    handshakeTimeout?: number | undefined;
    headers?: Record<string, string> | undefined;
  };
  shouldHandle(req: http.IncomingMessage): boolean;
  /** @internal 0 running, 1 closing, 2 closed. */
  _runState(): number;
  /** @internal Opens the WebSocket over `socket` after the response went out, and calls `cb`. */
  _adopt(socket: Duplex, protocol: string, deflate: { extensions: string; codec: MessageCodec } | undefined, req: http.IncomingMessage, cb: (ws: W, req: http.IncomingMessage) => void): W;
  /** @internal 'wsClientError', for information (on HTTP/2 the server always answers the stream itself). */
  _clientError(e: unknown, socket: Duplex, req: http.IncomingMessage): void;
  emit(event: "headers", lines: string[], req: http.IncomingMessage): boolean;
}

const kOurs = Symbol("wasmsocket.http2Listener");
const kClaimed = Symbol("wasmsocket.claimedStream");
const kSockets = Symbol("wasmsocket.http2Sockets");
const kGoneAway = Symbol("wasmsocket.http2GoneAway");
const kIdleTimeout = Symbol("wasmsocket.http2IdleTimeout");
type Tagged = { [kOurs]?: true };
type OurStream = http2.ServerHttp2Stream & { [kClaimed]?: true };
// `timeout`: what setTimeout() last set (node's setStreamTimeout keeps it there; the server sets it per session).
type OurSession = http2.ServerHttp2Session & { timeout?: number; [kSockets]?: Set<Closable>; [kGoneAway]?: true; [kIdleTimeout]?: number };

function ignoreError(): void {}

/**
 * An error listener on the stream and, once, on its session: first, before anything else. The
 * session's GOAWAY closes its WebSockets with 1001, and a handshake still pending then is refused.
 */
function guard(stream: http2.ServerHttp2Stream): void {
  stream.on("error", ignoreError);
  const session = stream.session as OurSession | undefined;
  if (session && !session[kSockets]) {
    const sockets = (session[kSockets] = new Set());
    session.on("error", ignoreError);
    session.on("goaway", () => {
      session[kGoneAway] = true;
      for (const w of [...sockets]) {
        try {
          w.close(1001, "HTTP/2 GOAWAY");
        } catch {
          // A socket already closing.
        }
      }
    });
  }
}

/**
 * Tracks the WebSockets of a session. While it carries any, the session has no idle timeout: as an
 * HTTP/1.1 upgrade leaves the server's timeout (server.setTimeout) behind, a quiet WebSocket must
 * not lose its session to it; the timeout comes back when the last one closes.
 */
function track(session: OurSession | undefined, ws: Closable, stream: Duplex): void {
  const sockets = session?.[kSockets];
  if (!session || !sockets) return;
  if (sockets.size === 0 && session.timeout) {
    session[kIdleTimeout] = session.timeout;
    session.setTimeout(0);
  }
  sockets.add(ws);
  stream.once("close", () => {
    sockets.delete(ws);
    const idle = session[kIdleTimeout];
    if (sockets.size === 0 && idle && !session.destroyed) {
      session[kIdleTimeout] = undefined;
      session.setTimeout(idle);
    }
  });
}

/** The accepting response: `:status 200`, the agreed subprotocol and extension, `options.headers`, the 'headers' event's lines. */
function acceptHeaders<W extends Closable>(host: StreamHost<W>, protocol: string, extensions: string | undefined, req: http.IncomingMessage): http2.OutgoingHttpHeaders {
  const lines: string[] = [];
  if (protocol) lines.push(`sec-websocket-protocol: ${protocol}`);
  if (extensions) lines.push(`sec-websocket-extensions: ${extensions}`);
  for (const [k, v] of Object.entries(host.options.headers ?? {})) lines.push(`${k}: ${v}`);
  host.emit("headers", lines, req);
  const out: http2.OutgoingHttpHeaders = { ":status": 200 };
  for (const line of lines) {
    const m = /^([^:\s]+):[ \t]*(.*)$/.exec(line);
    if (!m || /[\r\n\0]/.test(line)) throw new TypeError(`a response header line HTTP/2 cannot carry: ${JSON.stringify(line)}`);
    const name = m[1]!.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? m[2]! : ([] as string[]).concat(prev as string | string[], m[2]!);
  }
  return out;
}

/**
 * Completes a WebSocket handshake on an extended CONNECT stream (RFC 8441): the HTTP/2 counterpart
 * of handleUpgrade(). `cb(ws, req)` once it is open; a refused request is answered and ended here.
 */
export function handleStream<W extends Closable>(
  host: StreamHost<W>,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  cb: (ws: W, request: http.IncomingMessage) => void,
  rawHeaders?: string[],
): void {
  guard(stream);
  const session = stream.session as OurSession | undefined;
  const ours = stream as OurStream;
  if (ours[kClaimed]) throw new Error("server.handleStream() was called more than once with the same stream");
  ours[kClaimed] = true;
  const req = requestOf(ours, headers, rawHeaders);
  if (!isWebSocketConnect(headers)) return refuseStream(stream, 400, "Not an extended CONNECT for websocket");
  const invalid = checkExtendedConnect(headers);
  if (invalid) return refuseStream(stream, invalid.status, invalid.message, invalid.headers);
  const options = host.options;
  const handleProtocols = options.handleProtocols;
  const secure = !!(session?.socket as { encrypted?: boolean } | undefined)?.encrypted;
  // verifyClient may answer later: the stream closing ends the wait, and so does handshakeTimeout.
  decideWhileOpen(
    req,
    {
      verifyClient: options.verifyClient,
      verifyInfo: () => ({ origin: first(headers.origin), secure, req }),
      handleProtocols: handleProtocols && ((offered) => handleProtocols(offered, req)),
      deflate: deflateOptions(options.perMessageDeflate),
      engine: defaultDeflateEngine,
      refuseUnacceptableDeflate: true,
      shouldHandle: () => host.shouldHandle(req),
      stillWanted: () => (stream.destroyed || stream.closed || !stream.writable ? "gone" : host._runState() > 0 ? 503 : undefined),
    },
    stream,
    options.handshakeTimeout ?? 0,
    () => stream.close(http2.constants.NGHTTP2_CANCEL),
    (decision) => {
      switch (decision.type) {
        case "accept":
          // The client said GOAWAY while it waited: its session's WebSockets are closing (1001).
          if ((session as OurSession | undefined)?.[kGoneAway]) return refuseStream(stream, 503, "HTTP/2 GOAWAY");
          return accept(host, stream, decision.protocol, decision.deflate, req, cb);
        case "invalid":
        case "refused":
          return refuseStream(stream, decision.status, decision.message, decision.headers);
        case "failed":
          host._clientError(decision.error, stream, req);
          return refuseStream(stream, 500);
        case "gone":
          return void stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    },
  );
}

function accept<W extends Closable>(
  host: StreamHost<W>,
  stream: http2.ServerHttp2Stream,
  protocol: string,
  deflate: { extensions: string; codec: MessageCodec } | undefined,
  req: http.IncomingMessage,
  cb: (ws: W, request: http.IncomingMessage) => void,
): void {
  try {
    stream.respond(acceptHeaders(host, protocol, deflate?.extensions, req));
  } catch (e) {
    // A 'headers' listener that throws, or a header HTTP/2 cannot carry (node:http2 refuses
    // connection-specific ones): fail closed, with 500.
    deflate?.codec.close?.();
    host._clientError(e, stream, req);
    return refuseStream(stream, 500);
  }
  raiseHighWaterMark(stream);
  let ws: W | undefined;
  try {
    ws = host._adopt(stream, protocol, deflate, req, cb);
  } catch (e) {
    rethrowLater(e);
  }
  if (ws) track(stream.session as OurSession | undefined, ws, stream);
  // Our side ended (END_STREAM went out after the close handshake, or a protocol error's close):
  // the stream is done. A peer that never ends its side (Chromium does not) gets RST_STREAM(NO_ERROR)
  // (RFC 9113 §8.1) instead of holding the socket for the driver's linger time.
  stream.once("finish", () => {
    if (!stream.readableEnded && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
}

/**
 * An Http2Stream's writes complete only once node:http2 has framed them (on a later turn), so its
 * writableLength stays up where a TCP socket's is 0 at once; at Node 20's default 16 KiB mark every
 * few echoes made write() say "full" and the driver pause reading until 'drain'. One stream
 * flow-control window (64 KiB, also Node 22's default mark) instead: 4 KiB echo, 10 streams x 8 in
 * flight, 3 alternating runs: 40-100 k -> 108-109 k msgs/s, server CPU 5.8-9.2 -> 5.2-5.7 us/msg.
 */
const STREAM_HIGH_WATER_MARK = 64 * 1024;
function raiseHighWaterMark(stream: Duplex): void {
  const state = (stream as { _writableState?: { highWaterMark?: unknown } })._writableState;
  if (state && typeof state.highWaterMark === "number" && state.highWaterMark < STREAM_HIGH_WATER_MARK) state.highWaterMark = STREAM_HIGH_WATER_MARK;
}

/** node:http2's own 'stream' listener of the compatibility API (a 'request' listener): not an application's. */
function isCompatListener(l: unknown): boolean {
  return typeof l === "function" && l.name === "bound onServerStream";
}

/**
 * Makes `server` take WebSocket streams for `host`: enables extended CONNECT for the sessions it
 * accepts from now on (SETTINGS_ENABLE_CONNECT_PROTOCOL must be in a session's first SETTINGS, so
 * a session opened before this cannot carry WebSockets), listens for 'stream', and for 'connect'
 * (the compatibility API emits the CONNECT streams there, answering 405 when nobody listens).
 * Returns the function that removes the listeners again.
 */
export function attachHttp2<W extends Closable>(server: Http2AnyServer, host: StreamHost<W>, emitConnection: (ws: W, req: http.IncomingMessage) => void): () => void {
  server.updateSettings({ enableConnectProtocol: true });
  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders?: string[]) => {
    if (!isWebSocketConnect(headers)) return;
    guard(stream);
    const ours = stream as OurStream;
    if (ours[kClaimed]) return;
    try {
      const req = requestOf(ours, headers, rawHeaders);
      if (!host.shouldHandle(req)) return unmatched(server, ours);
      handleStream(host, stream, headers, emitConnection, rawHeaders);
    } catch {
      // Nothing a request carries may throw out of the 'stream' event.
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  };
  const onConnect = (req: http.IncomingMessage & { stream?: OurStream }, resOrSocket: http2.Http2ServerResponse | Duplex) => {
    const stream = req.stream;
    if (stream && isWebSocketConnect(req.headers as http2.IncomingHttpHeaders)) {
      // Ours ('stream' above): the application's compatibility request becomes the 'connection' request.
      if (!stream[kClaimed]) useRequest(stream, req);
      return;
    }
    // Any other CONNECT: node's answer when nobody listens, unless the application listens too.
    const listeners = server.listeners("connect");
    if (listeners.some((l) => !(l as Tagged)[kOurs]) || listeners.find((l) => (l as Tagged)[kOurs]) !== onConnect) return;
    if (stream) {
      const res = resOrSocket as http2.Http2ServerResponse;
      res.statusCode = 405;
      res.end();
    } else (resOrSocket as Duplex).destroy();
  };
  (onStream as Tagged)[kOurs] = true;
  (onConnect as Tagged)[kOurs] = true;
  server.on("stream", onStream);
  server.on("connect", onConnect as never);
  return () => {
    server.removeListener("stream", onStream);
    server.removeListener("connect", onConnect as never);
  };
}

/**
 * A WebSocket stream for a path this server does not serve: another of our servers on the same
 * http2 server may take it, or a 'stream'/'connect' listener of the application; otherwise 400.
 */
function unmatched(server: Http2AnyServer, stream: OurStream): void {
  if (server.listeners("stream").some((l) => !(l as Tagged)[kOurs] && !isCompatListener(l))) return;
  if (server.listeners("connect").some((l) => !(l as Tagged)[kOurs])) return;
  setImmediate(() => {
    if (!stream[kClaimed]) refuseStream(stream, 400);
  });
}

/** Whether `server` is one of node:http2's servers. */
export function isHttp2Server(server: unknown): server is Http2AnyServer {
  return typeof (server as { updateSettings?: unknown } | null)?.updateSettings === "function";
}
