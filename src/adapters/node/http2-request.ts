// The request side of WebSockets over HTTP/2 (RFC 8441), for ./http2-server.ts: which streams are
// WebSocket requests, their checks before the shared policy (../upgrade-policy.ts), the request
// object the application sees, and the answer that refuses one.
import http2 from "node:http2";
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";
import type { ResponseHeaders, UpgradeDecision } from "../upgrade-policy.js";

const kRequest = Symbol("wasmsocket.http2Request");
type RequestStream = http2.ServerHttp2Stream & { [kRequest]?: http.IncomingMessage };

/** Makes the application's compatibility request (the 'connect' event's) the one the 'connection' event gets. */
export function useRequest(stream: http2.ServerHttp2Stream, req: http.IncomingMessage): void {
  (stream as RequestStream)[kRequest] = req;
}

export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** An extended CONNECT for a WebSocket (RFC 8441 §4): the streams this module takes. */
export function isWebSocketConnect(headers: http2.IncomingHttpHeaders): boolean {
  return headers[":method"] === "CONNECT" && first(headers[":protocol"])?.toLowerCase() === "websocket";
}

/** RFC 8441 §4–5 and RFC 6455 §4.1's version: undefined when the request may go on to the policy. */
export function checkExtendedConnect(headers: http2.IncomingHttpHeaders): Extract<UpgradeDecision, { type: "invalid" }> | undefined {
  const scheme = first(headers[":scheme"]);
  if (scheme !== "https" && scheme !== "http") return { type: "invalid", status: 400, message: "Missing or invalid :scheme" };
  const path = first(headers[":path"]);
  if (!path || (path[0] !== "/" && path !== "*")) return { type: "invalid", status: 400, message: "Missing or invalid :path" };
  if (!first(headers[":authority"]) && !first(headers.host)) return { type: "invalid", status: 400, message: "Missing :authority" };
  const version = first(headers["sec-websocket-version"]);
  // A version we do not speak: 426 with the one we do (RFC 6455 §4.4); none or garbage: 400.
  if (version !== "13") {
    const status = version !== undefined && /^\d+$/.test(version.trim()) ? 426 : 400;
    return { type: "invalid", status, message: "Missing or invalid Sec-WebSocket-Version header", headers: { "sec-websocket-version": "13" } };
  }
  return undefined;
}

/** The request object of the 'connection' event: node:http2's compatibility request (the app's, if it made one). */
export function requestOf(stream: RequestStream, headers: http2.IncomingHttpHeaders, rawHeaders?: string[]): http.IncomingMessage {
  if (stream[kRequest]) return stream[kRequest];
  const raw = rawHeaders ?? Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, String(v)]));
  const Req = http2.Http2ServerRequest as unknown as new (s: Duplex, h: http2.IncomingHttpHeaders, o: undefined, r: string[]) => http.IncomingMessage;
  return (stream[kRequest] = new Req(stream, headers, undefined, raw));
}

/** Lower-case names, as HTTP/2 requires; a repeated name becomes a list. */
function headerBlock(status: number, extra: ResponseHeaders | undefined): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ":status": status };
  for (const [k, v] of Object.entries(extra ?? {})) if (v !== undefined) out[k.toLowerCase()] = v as string;
  return out;
}

/** Answers a refused request and ends the stream. Never throws; headers HTTP/2 cannot carry fail closed with 500. */
export function refuseStream(stream: http2.ServerHttp2Stream, status: number, message?: string, headers?: ResponseHeaders): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) return void stream.close(http2.constants.NGHTTP2_CANCEL);
  const body = message ?? STATUS_CODES[status] ?? "Error";
  try {
    stream.respond({ ...headerBlock(status, headers), "content-type": "text/html", "content-length": Buffer.byteLength(body) });
  } catch {
    if (status !== 500) return refuseStream(stream, 500);
    return void stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
  // What the client still sends on its side is read and dropped, and once our side is out the
  // stream is closed (RST_STREAM(NO_ERROR), RFC 9113 §8.1) whether or not the client ended its own:
  // a refused stream the client keeps open would otherwise stay, and a client could pile them up.
  stream.resume();
  stream.once("finish", () => {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
  stream.end(body);
}
