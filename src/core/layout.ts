// Mirror of assembly/layout.ts: the scanner's state block and frame-table entry layout.
// test/layout.test.ts checks the constants the WASM module exports against these.

// State block: i32 field indices (byte offset / 4).
export const S_CONFIG = 0;
export const S_MAX_FRAME = 1;
export const S_MAX_MESSAGE = 2;
export const S_PHASE = 3;
export const S_REMAINING = 4;
export const S_KEY = 5;
export const S_KEY_OFFSET = 6;
export const S_FRAME_INFO = 7;
export const S_FRAME_LEN = 8;
export const S_MSG_OPCODE = 9;
export const S_MSG_COMPRESSED = 10;
export const S_MSG_LEN = 11;
export const S_UTF8 = 12;
export const S_CONSUMED = 13;
export const S_COUNT = 14;
export const S_ERROR = 15;
export const STATE_FIELDS = 16;
export const STATE_SIZE = STATE_FIELDS * 4;
/** Fields that persist between scan calls (the rest are configuration or per-call output). */
export const PERSISTENT_FIELDS = S_UTF8 + 1;

// Frame-table entry: i32 field indices within an entry.
export const E_INFO = 0;
export const E_PTR = 1;
export const E_LEN = 2;
export const E_FRAME_LEN = 3;
export const ENTRY_FIELDS = 4;
export const ENTRY_SIZE = ENTRY_FIELDS * 4;

export const F_FIN = 1 << 4;
export const F_RSV1 = 1 << 5;
export const F_START = 1 << 6;
export const F_END = 1 << 7;
export const F_MASKED = 1 << 8;
export const F_START_PENDING = 1 << 9;

export const CONFIG_PEER_MASKS = 1;
export const CONFIG_RSV1_ALLOWED = 2;
export const CONFIG_SKIP_UTF8 = 4;

/** What the scanner can reject; src/protocol/errors.ts maps each kind to a close code. */
export enum ScanError {
  None = 0,
  ReservedBits = 1,
  ReservedOpcode = 2,
  ControlFragmented = 3,
  ControlTooLong = 4,
  UnexpectedContinuation = 5,
  ExpectedContinuation = 6,
  LengthHighBit = 7,
  MaskRequired = 8,
  MaskForbidden = 9,
  FrameTooBig = 10,
  MessageTooBig = 11,
  InvalidUtf8 = 12,
}
