// The scanner's per-connection state block and frame-table entry layout. The TypeScript side's
// constants (src/core/layout.generated.ts) are generated from this file by scripts/gen-layout.mjs:
// keep to `export const NAME: type = value; // doc` lines, which it reads.

// State block (i32 fields, byte offsets).
export const S_CONFIG: usize = 0; // bit 0: peer must mask (we are the server); bit 1: RSV1 allowed; bit 2: skip UTF-8 checks
export const S_MAX_FRAME: usize = 4; // u32: largest accepted frame payload
export const S_MAX_MESSAGE: usize = 8; // u32: largest accepted message (fragments added up)
export const S_PHASE: usize = 12; // 0: expecting a header; 1: inside a data frame's payload
export const S_REMAINING: usize = 16; // payload bytes of the current data frame still to come
export const S_KEY: usize = 20; // masking key, little-endian
export const S_KEY_OFFSET: usize = 24; // payload bytes of the current frame already seen
export const S_FRAME_INFO: usize = 28; // current data frame: entry info bits, plus F_MASKED
export const S_FRAME_LEN: usize = 32; // announced payload length of the current data frame
export const S_MSG_OPCODE: usize = 36; // opcode of the message in progress (0: none)
export const S_MSG_COMPRESSED: usize = 40; // 1 when the message in progress had RSV1
export const S_MSG_LEN: usize = 44; // bytes of the message in progress so far
export const S_UTF8: usize = 48; // UTF-8 validator state of the text message in progress
export const S_CONSUMED: usize = 52; // out: input bytes consumed by this call
export const S_COUNT: usize = 56; // out: table entries written by this call
export const S_ERROR: usize = 60; // out: error kind (0: none); scanning stopped there
export const STATE_SIZE: usize = 64;

// Frame-table entry: four i32 fields.
export const E_INFO: usize = 0; // opcode | F_* bits
export const E_PTR: usize = 4; // where this piece of payload is (unmasked) in memory
export const E_LEN: usize = 8; // bytes in this piece
export const E_FRAME_LEN: usize = 12; // announced payload length of the whole frame
export const ENTRY_SIZE: usize = 16;

export const F_FIN: i32 = 1 << 4;
export const F_RSV1: i32 = 1 << 5;
export const F_START: i32 = 1 << 6; // first entry of a frame
export const F_END: i32 = 1 << 7; // last entry of a frame (payload complete)
export const F_MASKED: i32 = 1 << 8; // state only
export const F_START_PENDING: i32 = 1 << 9; // state only: the frame's first entry is not written yet
export const F_ASCII: i32 = 1 << 10; // a short text message whole in this entry, every byte ASCII (it decodes as Latin-1)
export const ASCII_CHECK_MAX: u32 = 256; // F_ASCII is looked for up to this many bytes

export const CONFIG_PEER_MASKS: i32 = 1;
export const CONFIG_RSV1_ALLOWED: i32 = 2;
export const CONFIG_SKIP_UTF8: i32 = 4; // text payloads are not validated (ws's skipUTF8Validation)

// Error kinds; src/protocol/errors.ts maps each to its close code and message.
export const ERR_NONE: i32 = 0;
export const ERR_RESERVED_BITS: i32 = 1;
export const ERR_RESERVED_OPCODE: i32 = 2;
export const ERR_CONTROL_FRAGMENTED: i32 = 3;
export const ERR_CONTROL_TOO_LONG: i32 = 4;
export const ERR_UNEXPECTED_CONTINUATION: i32 = 5;
export const ERR_EXPECTED_CONTINUATION: i32 = 6;
export const ERR_LENGTH_HIGH_BIT: i32 = 7;
export const ERR_MASK_REQUIRED: i32 = 8;
export const ERR_MASK_FORBIDDEN: i32 = 9;
export const ERR_FRAME_TOO_BIG: i32 = 10;
export const ERR_MESSAGE_TOO_BIG: i32 = 11;
export const ERR_INVALID_UTF8: i32 = 12;
