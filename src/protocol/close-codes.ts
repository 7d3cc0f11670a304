// RFC 6455 §7.4 close codes: which exist, which may travel in a close frame.
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: never on the wire; reported when a close frame had no code. */
  NoStatus: 1005,
  /** Reserved: never on the wire; reported when the connection dropped without a close frame. */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Reserved: never on the wire (TLS handshake failure). */
  TlsHandshake: 1015,
} as const;

/**
 * Whether `code` may appear in a close frame, sent or received: the defined codes except the
 * reserved 1004/1005/1006/1015, and 3000–4999 (registered and private use). 1016–2999 are
 * reserved for future RFCs and rejected, as are codes below 1000 and from 5000.
 */
export function isValidWireCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A close reason must fit the 125-byte control payload with the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;
