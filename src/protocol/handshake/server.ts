// Server side of the opening handshake (RFC 6455 §4.2): check the upgrade request, then answer
// with 101 Switching Protocols or an HTTP error.
import { HandshakeError } from "../errors.js";
import { acceptKey, isValidClientKey } from "./accept.js";
import { formatHead, headerList, headerValue, type HttpHead } from "./http.js";

export interface UpgradeRequest {
  method: string;
  /** Request target, e.g. "/chat?room=1". */
  path: string;
  host: string;
  origin: string | undefined;
  key: string;
  /** Sec-WebSocket-Protocol values offered, in the client's order of preference. */
  protocols: string[];
  /** The raw Sec-WebSocket-Extensions header values. */
  extensions: string[];
  head: HttpHead;
}

/** Checks a request head against RFC 6455 §4.2.1; throws HandshakeError with the status to send. */
export function parseUpgradeRequest(head: HttpHead): UpgradeRequest {
  const [method, path, version] = head.startLine;
  if (method !== "GET") throw new HandshakeError("method must be GET", 405, "WS_ERR_BAD_METHOD", { Allow: "GET" });
  if (version !== "HTTP/1.1") throw new HandshakeError("HTTP/1.1 required", 400, "WS_ERR_BAD_REQUEST");
  const host = headerValue(head, "host");
  if (!host) throw new HandshakeError("missing Host header", 400, "WS_ERR_BAD_REQUEST");
  if (!headerList(head, "upgrade").some((t) => t.toLowerCase() === "websocket")) {
    throw new HandshakeError("missing Upgrade: websocket", 400, "WS_ERR_BAD_REQUEST");
  }
  if (!headerList(head, "connection").some((t) => t.toLowerCase() === "upgrade")) {
    throw new HandshakeError("Connection header lacks the upgrade token", 400, "WS_ERR_BAD_REQUEST");
  }
  const version13 = headerValue(head, "sec-websocket-version");
  if (version13 !== "13") {
    throw new HandshakeError("unsupported WebSocket version", 426, "WS_ERR_BAD_VERSION", { "Sec-WebSocket-Version": "13" });
  }
  const key = headerValue(head, "sec-websocket-key");
  if (!key || !isValidClientKey(key)) throw new HandshakeError("invalid Sec-WebSocket-Key", 400, "WS_ERR_BAD_KEY");
  return {
    method,
    path,
    host,
    origin: headerValue(head, "origin") ?? headerValue(head, "sec-websocket-origin"),
    key,
    protocols: headerList(head, "sec-websocket-protocol"),
    extensions: head.headers.get("sec-websocket-extensions") ?? [],
    head,
  };
}

export interface AcceptOptions {
  protocol?: string | undefined;
  /** Sec-WebSocket-Extensions response value, from the extension negotiation. */
  extensions?: string | undefined;
  headers?: Record<string, string> | undefined;
}

/** The 101 Switching Protocols response accepting `request`. */
export function switchingProtocols(request: UpgradeRequest, options: AcceptOptions = {}): Uint8Array {
  const headers: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKey(request.key)],
  ];
  if (options.protocol) headers.push(["Sec-WebSocket-Protocol", options.protocol]);
  if (options.extensions) headers.push(["Sec-WebSocket-Extensions", options.extensions]);
  for (const [k, v] of Object.entries(options.headers ?? {})) headers.push([k, v]);
  return formatHead("HTTP/1.1 101 Switching Protocols", headers);
}

const REASONS: Record<number, string> = {
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  426: "Upgrade Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An HTTP error response. The body is a fixed phrase: nothing from the request is reflected. */
export function rejectResponse(status: number, headers: Record<string, string> = {}, message?: string): Uint8Array {
  const reason = REASONS[status] ?? "Error";
  // The body is the application's message (ASCII kept, anything else dropped) or the status line.
  const body = message !== undefined ? message.replace(/[^\x20-\x7e\t\n]/g, "") : `${status} ${reason}\n`;
  const list: [string, string][] = [
    ["Connection", "close"],
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(body.length)],
    ...Object.entries(headers),
  ];
  const head = formatHead(`HTTP/1.1 ${status} ${reason}`, list);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  for (let i = 0; i < body.length; i++) out[head.length + i] = body.charCodeAt(i);
  return out;
}
