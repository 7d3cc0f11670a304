// Default limits: each bounds memory or time a peer can make us spend (README, "Security").
export const DEFAULT_LIMITS = {
  /** Largest frame payload accepted (1009 beyond). */
  maxFrameSize: 64 * 1024 * 1024,
  /** Largest message accepted, fragments added up and after decompression (1009 beyond). */
  maxMessageSize: 64 * 1024 * 1024,
  /** Largest fragment count in one message (1009 beyond): bounds per-fragment work. */
  maxFragments: 1 << 20,
  /** Bytes of HTTP head accepted during the handshake (431 beyond). */
  maxHandshakeBytes: 16 * 1024,
  /** Header lines accepted during the handshake (431 beyond). */
  maxHeaders: 100,
  /** Time for the opening handshake to complete, ms (slowloris). */
  handshakeTimeout: 10_000,
  /** Time to wait for the peer's close frame or TCP close after ours, ms. */
  closeTimeout: 5_000,
} as const;

/** Control frame payloads are at most 125 bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;
/** The scanner counts lengths in 32 bits. */
export const MAX_SIZE_LIMIT = 0xffffffff;
