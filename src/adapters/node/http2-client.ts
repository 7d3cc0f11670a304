// A WebSocket over an HTTP/2 stream, client side (RFC 8441): the extended CONNECT request
// (`:method CONNECT`, `:protocol websocket`, the usual Sec-WebSocket-* headers minus key and
// accept), a 2xx answer checked like a 101 (subprotocol, extensions), then the stream is the
// socket: the Connection is opened directly and driven over it by the Node driver, masking as on
// HTTP/1.1 (RFC 8441 §5). The session comes from http2-sessions.ts; when it cannot do extended
// CONNECT, the socket falls back to the HTTP/1.1 upgrade. Closing ends the stream (END_STREAM after
// the close frame); a reset stream is a 1006 for that socket alone; GOAWAY closes the session's
// sockets with 1001.
import http2, { type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import type http from "node:http";
import type { ExtensionNegotiator } from "../../protocol/extensions/codec.js";
import { CloseCode } from "../../protocol/close-codes.js";
import { checkAnswer, emitErrorAndClose, type HandshakingSocket } from "./client-handshake.js";
import { leaseSession, type Readiness } from "./http2-sessions.js";

/** What the HTTP/1.1 path worked out that the CONNECT request needs too (client.ts). */
export interface Http2Target {
  url: URL;
  secure: boolean;
  /** The request headers as for HTTP/1.1 (any case): hop-by-hop ones are left out, Host becomes :authority. */
  headers: http.OutgoingHttpHeaders;
  /** user:password from the URL. */
  auth: string | undefined;
  offered: Set<string>;
  negotiator: ExtensionNegotiator | undefined;
  /** The client's options (`http2` may be the session to use; `handshakeTimeout`; net and tls options). */
  options: Record<string, any>;
}

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2) or that belong to the HTTP/1.1 upgrade only. */
const NOT_ON_H2 = new Set(["connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding", "host", "sec-websocket-key", "http2-settings"]);
const EMPTY = new Uint8Array(0);
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

function connectHeaders(t: Http2Target): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  let authority = t.url.host;
  for (const [k, v] of Object.entries(t.headers)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    if (name === "host") authority = String(v);
    else if (!NOT_ON_H2.has(name)) out[name] = typeof v === "number" ? String(v) : v;
  }
  if (t.auth && out.authorization === undefined) out.authorization = "Basic " + Buffer.from(t.auth).toString("base64");
  out[":method"] = "CONNECT";
  out[":protocol"] = "websocket";
  out[":scheme"] = t.secure ? "https" : "http";
  out[":path"] = t.url.pathname + t.url.search || "/";
  out[":authority"] = authority;
  return out;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** How many sessions one socket may leave for another because their stream limit was reached. */
const MAX_MOVES = 4;

/** Opens `ws` over an HTTP/2 stream; calls `fallback` to open it over HTTP/1.1 instead. */
export function openOverHttp2(ws: HandshakingSocket, t: Http2Target, fallback: () => void): void {
  const given = typeof t.options.http2 === "object" ? (t.options.http2 as http2.ClientHttp2Session) : undefined;
  let lease = leaseSession(t.url, t.secure, t.options, given);
  /** A stream the server refused unprocessed (GOAWAY, RST_STREAM REFUSED_STREAM) is tried once more on a new session. */
  let retried = given !== undefined;
  /** Sessions left because the server's stream limit was reached there. */
  let moves = 0;
  let stream: ClientHttp2Stream | undefined;
  let streamError: Error | undefined;
  /** Handed over, failed, aborted or fallen back: the handshake has nothing more to do. */
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = () => {
    done = true;
    if (timer) clearTimeout(timer);
    if (ws._req === (handle as unknown)) ws._req = null;
  };
  // What abortHandshake() (close() or terminate() while connecting, the timeout) destroys.
  const handle = {
    destroy(): void {
      if (done) return;
      finish();
      if (stream) stream.close(NGHTTP2_CANCEL);
      lease.release();
    },
  };
  const fail = (err: Error) => {
    if (done) return;
    finish();
    if (stream && !stream.closed) stream.close(NGHTTP2_CANCEL);
    lease.release();
    emitErrorAndClose(ws, err);
  };
  ws._req = handle as unknown as http.ClientRequest;
  const timeout = t.options.handshakeTimeout;
  if (timeout) timer = setTimeout(() => ws.abortHandshake("Opening handshake has timed out"), timeout);

  const retry = (): boolean => {
    if (retried || done) return false;
    retried = true;
    const old = lease;
    stream = undefined;
    streamError = undefined;
    // The new lease first: a session that is still good (a plain REFUSED_STREAM) is kept for it.
    lease = leaseSession(t.url, t.secure, t.options);
    old.release();
    lease.ready(onReady);
    return true;
  };
  const onReady = (r: Readiness) => {
    if (done) return;
    if (r === "fallback") {
      finish();
      lease.release();
      return fallback();
    }
    if (r instanceof Error) return fail(r);
    if (!lease.hasStream() && moves < MAX_MOVES) {
      // The server's stream limit is reached on this session (learnt from SETTINGS that came after
      // we leased it): another session, rather than waiting for a WebSocket there to close. Bounded:
      // a server that allows no streams at all (limit 0) must not make us open sessions forever;
      // past the bound the stream waits in node for a free slot.
      moves++;
      const old = lease;
      lease = leaseSession(t.url, t.secure, t.options);
      old.release();
      return lease.ready(onReady);
    }
    const mine = lease;
    let s: ClientHttp2Stream;
    try {
      s = mine.session.request(connectHeaders(t), { endStream: false });
      mine.streamOpened();
    } catch (e) {
      // The session got GOAWAY (or closed) between its SETTINGS and this request.
      if (mine.session.closed || mine.session.destroyed) return void (retry() || fail(e as Error));
      return fail(e as Error);
    }
    stream = s;
    // Listen for errors first: an error on a stream with no listener would crash the process.
    s.on("error", (err) => {
      if (stream === s) streamError ??= err;
    });
    s.once("close", () => {
      if (done || stream !== s) return void mine.release();
      if (s.rstCode === NGHTTP2_REFUSED_STREAM && retry()) return;
      fail(streamError ?? new Error(`The HTTP/2 stream closed before the response (code ${s.rstCode})`));
    });
    s.once("response", (headers) => {
      if (done || stream !== s) return;
      const status = Number(headers[":status"]);
      if (!(status >= 200 && status < 300)) return fail(Object.assign(new Error(`Unexpected server response: ${status}`), { statusCode: status }));
      const answer = checkAnswer(t.offered, t.negotiator, headerValue(headers, "sec-websocket-protocol"), headerValue(headers, "sec-websocket-extensions"));
      if (typeof answer === "string") return fail(new Error(answer));
      finish();
      mine.onGoaway(() => {
        if (ws.readyState === 1) ws.close(CloseCode.GoingAway, "");
      });
      ws.httpVersion = "2";
      ws.setSocket(s, EMPTY, answer);
    });
  };
  lease.ready(onReady);
}
