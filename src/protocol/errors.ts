// Typed errors. Each carries a stable string `code` and the close code the RFC asks us to send.
import { ScanError } from "../core/layout.js";
import { CloseCode } from "./close-codes.js";

/**
 * Brands our errors. Each bundle (wasmsocket, wasmsocket/node, /deno, /bun, the CommonJS builds)
 * has its own copy of these classes, and an engine from one may throw into a connection from
 * another: the close code must come from the error itself, never from `instanceof`.
 */
const BRAND = Symbol.for("wasmsocket.WebSocketError");

export class WebSocketError extends Error {
  declare readonly [BRAND]: true;
  constructor(
    message: string,
    /** Stable identifier, e.g. "WS_ERR_INVALID_UTF8". */
    readonly code: string,
    /** The close code sent to the peer when this error fails the connection. */
    readonly closeCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

Object.defineProperty(WebSocketError.prototype, BRAND, { value: true });

/** Whether `e` is a WebSocketError from any copy of this library (by its brand, not its class). */
export function isWebSocketError(e: unknown): e is WebSocketError {
  return typeof e === "object" && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true && typeof (e as WebSocketError).closeCode === "number";
}

/** The peer broke a framing or protocol rule (1002). */
export class ProtocolError extends WebSocketError {
  constructor(message: string, code = "WS_ERR_PROTOCOL") {
    super(message, code, CloseCode.ProtocolError);
  }
}

/** A text message or close reason was not valid UTF-8 (1007); also corrupt compressed data. */
export class InvalidPayloadError extends WebSocketError {
  constructor(message: string, code = "WS_ERR_INVALID_UTF8") {
    super(message, code, CloseCode.InvalidPayload);
  }
}

/** A frame or message exceeded a configured limit (1009). */
export class MessageTooBigError extends WebSocketError {
  constructor(message: string, code = "WS_ERR_MESSAGE_TOO_BIG") {
    super(message, code, CloseCode.MessageTooBig);
  }
}

/** The opening handshake failed; `status` is the HTTP status sent or received. */
export class HandshakeError extends WebSocketError {
  constructor(
    message: string,
    readonly status: number,
    code = "WS_ERR_HANDSHAKE",
    /** Extra response headers the server should send with the rejection. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message, code, CloseCode.ProtocolError);
  }
}

/** Whether `e` is a HandshakeError from any copy of this library (it carries an HTTP status). */
export function isHandshakeError(e: unknown): e is HandshakeError {
  return isWebSocketError(e) && typeof (e as HandshakeError).status === "number";
}

/** The peer did not answer in time (a close, a pong, the handshake). */
export class TimeoutError extends WebSocketError {
  constructor(message: string, code = "WS_ERR_TIMEOUT") {
    super(message, code, CloseCode.Abnormal);
  }
}

/** An operation needs an OPEN connection. */
export class InvalidStateError extends WebSocketError {
  constructor(message: string) {
    super(message, "WS_ERR_INVALID_STATE", CloseCode.InternalError);
  }
}

const scanErrors: Record<number, (b0: number, b1: number) => WebSocketError> = {
  [ScanError.ReservedBits]: (b0) => new ProtocolError(b0 & 0x40 || b0 < 0 ? "RSV1 set without a negotiated extension" : "RSV2 and RSV3 must be clear", b0 & 0x40 || b0 < 0 ? "WS_ERR_UNEXPECTED_RSV" : "WS_ERR_UNEXPECTED_RSV_2_3"),
  [ScanError.ReservedOpcode]: (b0) => new ProtocolError(`invalid opcode ${b0 & 0x0f}`, "WS_ERR_INVALID_OPCODE"),
  [ScanError.ControlFragmented]: () => new ProtocolError("fragmented control frame", "WS_ERR_EXPECTED_FIN"),
  [ScanError.ControlTooLong]: (_b0, b1) => new ProtocolError(`invalid payload length ${b1 & 0x7f}`, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH"),
  [ScanError.UnexpectedContinuation]: () => new ProtocolError("unexpected continuation: invalid opcode 0", "WS_ERR_INVALID_OPCODE"),
  [ScanError.ExpectedContinuation]: (b0) => new ProtocolError(`expected continuation: invalid opcode ${b0 & 0x0f}`, "WS_ERR_INVALID_OPCODE"),
  [ScanError.LengthHighBit]: () => new ProtocolError("64-bit payload length with the high bit set", "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH"),
  [ScanError.MaskRequired]: () => new ProtocolError("client frame not masked", "WS_ERR_EXPECTED_MASK"),
  [ScanError.MaskForbidden]: () => new ProtocolError("server frame masked", "WS_ERR_UNEXPECTED_MASK"),
  [ScanError.FrameTooBig]: () => new MessageTooBigError("frame payload over the size limit", "WS_ERR_FRAME_TOO_BIG"),
  [ScanError.MessageTooBig]: () => new MessageTooBigError("message over the size limit"),
  [ScanError.InvalidUtf8]: () => new InvalidPayloadError("text message is not valid UTF-8"),
};

/**
 * The exception for a rule the frame scanner reported; `header` is the offending frame's first two
 * bytes (FrameScanner.errorHeader), for the opcode or length in the message.
 */
export function scanErrorToException(kind: ScanError, header = -1): WebSocketError {
  const make = scanErrors[kind];
  const b0 = header < 0 ? -1 : header >> 8;
  return make ? make(b0, header < 0 ? 0 : header & 0xff) : new ProtocolError(`frame rejected (${kind})`);
}
