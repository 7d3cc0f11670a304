// What both Node client handshakes share: the HTTP/1.1 upgrade (client.ts) and the extended CONNECT
// of RFC 8441 over an HTTP/2 stream (http2-client.ts). The socket they open, seen through an
// interface (websocket.ts's class is one, so the files do not import each other), and the check of
// the server's subprotocol and extension answer, with ws's error messages on both paths.
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { MessageCodec } from "../../protocol/connection.js";
import type { ExtensionNegotiator } from "../../protocol/extensions/codec.js";
import { parseExtensions } from "../../protocol/extensions/header.js";

/** Marks a request aborted on purpose, so its 'error' is not reported twice. */
export const kAborted = Symbol("wasmsocket.aborted");

/** What the client side needs of the WebSocket it opens. */
export interface HandshakingSocket {
  readonly url: string;
  readonly readyState: number;
  _url: string;
  /** The pending request: an http.ClientRequest, or the HTTP/2 handshake's handle (its destroy() cancels it). */
  _req: http.ClientRequest | null;
  _redirects: number;
  _readyState: number;
  /** "2" once the socket runs over an HTTP/2 stream (RFC 8441), "1.1" otherwise. */
  httpVersion: "1.1" | "2";
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  emitError(err: Error): void;
  emitClose(): void;
  abortHandshake(message: string, stream?: Duplex): void;
  close(code?: number, reason?: string): void;
  setSocket(socket: Duplex, head: Uint8Array, opts: Answer): void;
}

/** What the server agreed to. */
export interface Answer {
  protocol: string;
  extensions: string;
  codec?: MessageCodec | undefined;
}

export function emitErrorAndClose(ws: HandshakingSocket, err: Error): void {
  ws._readyState = 2;
  ws.emitError(err);
  ws.emitClose();
}

/**
 * Checks the server's Sec-WebSocket-Protocol and Sec-WebSocket-Extensions answer against what was
 * offered: the agreement, or ws's message for why the connection fails.
 */
export function checkAnswer(offered: Set<string>, negotiator: ExtensionNegotiator | undefined, protocol: string | undefined, extensions: string | undefined): Answer | string {
  if (protocol !== undefined) {
    if (!offered.size) return "Server sent a subprotocol but none was requested";
    if (!offered.has(protocol)) return "Server sent an invalid subprotocol";
  } else if (offered.size) return "Server sent no subprotocol";
  let codec: MessageCodec | undefined;
  if (extensions !== undefined) {
    if (!negotiator) return "Server sent a Sec-WebSocket-Extensions header but no extension was requested";
    let names: string[];
    try {
      names = parseExtensions([extensions]).map((e) => e.name);
    } catch {
      return "Invalid Sec-WebSocket-Extensions header";
    }
    if (names.length !== 1 || names[0] !== "permessage-deflate") return "Server indicated an extension that was not requested";
    try {
      codec = negotiator.accept(extensions);
    } catch {
      return "Invalid Sec-WebSocket-Extensions header";
    }
  }
  return { protocol: protocol ?? "", extensions: codec ? "permessage-deflate" : "", codec };
}
