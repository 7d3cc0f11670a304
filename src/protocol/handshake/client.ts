// Client side of the opening handshake (RFC 6455 §4.1): build the request, validate the response.
import { HandshakeError } from "../errors.js";
import { acceptKey, generateClientKey } from "./accept.js";
import { formatHead, headerList, headerValue, type HttpHead } from "./http.js";

export interface ClientRequestOptions {
  protocols?: string[] | undefined;
  origin?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Sec-WebSocket-Extensions offer, from the extension negotiation. */
  extensions?: string | undefined;
}

export interface ClientRequest {
  bytes: Uint8Array;
  key: string;
}

/** An HTTP token (RFC 9110 §5.6.2): what a subprotocol name must be. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function buildRequest(url: URL, options: ClientRequestOptions = {}): ClientRequest {
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new SyntaxError(`not a WebSocket URL: ${url.href}`);
  if (url.hash) throw new SyntaxError("WebSocket URLs have no fragment");
  const protocols = options.protocols ?? [];
  for (const p of protocols) if (!TOKEN.test(p)) throw new SyntaxError(`invalid subprotocol ${JSON.stringify(p)}`);
  if (new Set(protocols).size !== protocols.length) throw new SyntaxError("duplicate subprotocol");
  const key = generateClientKey();
  const headers: [string, string][] = [
    ["Host", url.host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", "13"],
  ];
  if (protocols.length) headers.push(["Sec-WebSocket-Protocol", protocols.join(", ")]);
  if (options.extensions) headers.push(["Sec-WebSocket-Extensions", options.extensions]);
  if (options.origin) headers.push(["Origin", options.origin]);
  for (const [k, v] of Object.entries(options.headers ?? {})) headers.push([k, v]);
  return { bytes: formatHead(`GET ${url.pathname || "/"}${url.search} HTTP/1.1`, headers), key };
}

export interface ServerResponse {
  protocol: string;
  /** The raw Sec-WebSocket-Extensions response value ("" if none). */
  extensions: string;
  head: HttpHead;
}

/** Checks the server's answer (RFC 6455 §4.1, steps 1–6 of the client's validation). */
export function validateResponse(head: HttpHead, key: string, protocols: string[]): ServerResponse {
  const [version, status] = head.startLine;
  if (!version.startsWith("HTTP/1.")) throw new HandshakeError("not an HTTP response", 502, "WS_ERR_BAD_RESPONSE");
  if (status !== "101") throw new HandshakeError(`unexpected server response: ${status}`, Number(status) || 502, "WS_ERR_UNEXPECTED_RESPONSE");
  if (!headerList(head, "upgrade").some((t) => t.toLowerCase() === "websocket")) {
    throw new HandshakeError("response lacks Upgrade: websocket", 502, "WS_ERR_BAD_RESPONSE");
  }
  if (!headerList(head, "connection").some((t) => t.toLowerCase() === "upgrade")) {
    throw new HandshakeError("response lacks Connection: Upgrade", 502, "WS_ERR_BAD_RESPONSE");
  }
  if (headerValue(head, "sec-websocket-accept") !== acceptKey(key)) {
    throw new HandshakeError("invalid Sec-WebSocket-Accept", 502, "WS_ERR_BAD_ACCEPT");
  }
  const protocol = headerValue(head, "sec-websocket-protocol") ?? "";
  if (protocol && !protocols.includes(protocol)) throw new HandshakeError("server chose a subprotocol we did not offer", 502, "WS_ERR_BAD_PROTOCOL");
  return { protocol, extensions: (head.headers.get("sec-websocket-extensions") ?? []).join(", "), head };
}
