// Errors as ws 8 reports them on its 'error' event: the class (RangeError for framing and size
// rules, Error for UTF-8), the message and the `WS_ERR_*` code ws users match. The connection's own
// error (its code, close code) stays reachable as `cause`.
import { isWebSocketError } from "../../protocol/errors.js";

type Shape = [ctor: ErrorConstructor | RangeErrorConstructor, message: string, code: string, closeCode: number];

const FRAME = "Invalid WebSocket frame: ";
const SHAPES: Record<string, Shape> = {
  WS_ERR_UNEXPECTED_RSV: [RangeError, FRAME + "RSV1 must be clear", "WS_ERR_UNEXPECTED_RSV_1", 1002],
  WS_ERR_UNEXPECTED_RSV_2_3: [RangeError, FRAME + "RSV2 and RSV3 must be clear", "WS_ERR_UNEXPECTED_RSV_2_3", 1002],
  WS_ERR_INVALID_OPCODE: [RangeError, FRAME + "invalid opcode", "WS_ERR_INVALID_OPCODE", 1002],
  WS_ERR_EXPECTED_FIN: [RangeError, FRAME + "FIN must be set", "WS_ERR_EXPECTED_FIN", 1002],
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: [RangeError, FRAME + "invalid payload length", "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002],
  WS_ERR_INVALID_CLOSE_FRAME: [RangeError, FRAME + "invalid payload length 1", "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002],
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: [RangeError, "Unsupported WebSocket frame: payload length > 2^53 - 1", "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", 1009],
  WS_ERR_EXPECTED_MASK: [RangeError, FRAME + "MASK must be set", "WS_ERR_EXPECTED_MASK", 1002],
  WS_ERR_UNEXPECTED_MASK: [RangeError, FRAME + "MASK must be clear", "WS_ERR_UNEXPECTED_MASK", 1002],
  WS_ERR_FRAME_TOO_BIG: [RangeError, "Max payload size exceeded", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009],
  WS_ERR_MESSAGE_TOO_BIG: [RangeError, "Max payload size exceeded", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009],
  WS_ERR_TOO_MANY_FRAGMENTS: [RangeError, "Too many message fragments", "WS_ERR_TOO_MANY_BUFFERED_PARTS", 1009],
  WS_ERR_INVALID_UTF8: [Error, FRAME + "invalid UTF-8 sequence", "WS_ERR_INVALID_UTF8", 1007],
  WS_ERR_INVALID_CLOSE_CODE: [RangeError, FRAME + "invalid status code", "WS_ERR_INVALID_CLOSE_CODE", 1002],
};

/** The close code a ws-shaped error asks for (ws keeps it under a private symbol; we expose it). */
export interface WsError extends Error {
  code?: string;
  closeCode?: number;
}

/** ws's error for what the connection reported; errors ws has no shape for pass through. */
export function toWsError(err: Error): WsError {
  if (!isWebSocketError(err)) return err;
  // As ws: corrupt compressed data is reported with zlib's own error (code Z_DATA_ERROR...).
  const cause = (err as { cause?: unknown }).cause;
  if (err.code === "WS_ERR_INVALID_COMPRESSED_DATA" && cause instanceof Error && typeof (cause as WsError).code === "string") {
    (cause as WsError).closeCode = err.closeCode;
    return cause;
  }
  const shape = SHAPES[err.code];
  if (!shape) return err;
  const [Ctor, message, code, closeCode] = shape;
  let detail = "";
  if (err.code === "WS_ERR_INVALID_OPCODE" || err.code === "WS_ERR_INVALID_CLOSE_CODE" || err.code === "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH") {
    const n = /(\d+)$/.exec(err.message);
    if (n) detail = ` ${n[1]}`;
  }
  const out = new Ctor(message + detail, { cause: err }) as WsError;
  out.code = code;
  out.closeCode = closeCode;
  return out;
}
