// Batched frame scan (RFC 6455 §5.2): one call walks every frame in a region of memory, applies the
// header rules, unmasks payloads in place (validating text in the same walk) and writes one table
// entry per frame piece. A data frame whose payload runs past the region is handed out piece by
// piece as bytes arrive, so only an incomplete header or control frame is ever left behind.

import { maskInPlace, rotateKey } from "./mask";
import { isAscii, unmaskAscii, utf8Validate } from "./utf8";
import {
  S_CONFIG, S_MAX_FRAME, S_MAX_MESSAGE, S_PHASE, S_REMAINING, S_KEY, S_KEY_OFFSET, S_FRAME_INFO,
  S_FRAME_LEN, S_MSG_OPCODE, S_MSG_COMPRESSED, S_MSG_LEN, S_UTF8, S_CONSUMED, S_COUNT, S_ERROR,
  E_INFO, E_PTR, E_LEN, E_FRAME_LEN, ENTRY_SIZE,
  F_FIN, F_RSV1, F_START, F_END, F_MASKED, F_START_PENDING, F_ASCII, ASCII_CHECK_MAX, CONFIG_PEER_MASKS, CONFIG_RSV1_ALLOWED, CONFIG_SKIP_UTF8,
  ERR_NONE, ERR_RESERVED_BITS, ERR_RESERVED_OPCODE, ERR_CONTROL_FRAGMENTED, ERR_CONTROL_TOO_LONG,
  ERR_UNEXPECTED_CONTINUATION, ERR_EXPECTED_CONTINUATION, ERR_LENGTH_HIGH_BIT, ERR_MASK_REQUIRED,
  ERR_MASK_FORBIDDEN, ERR_FRAME_TOO_BIG, ERR_MESSAGE_TOO_BIG, ERR_INVALID_UTF8,
} from "./layout";

/** Rules that the first two header bytes decide, checked before waiting for the rest. */
// @ts-ignore: decorator
@inline function checkFirstBytes(b0: u32, b1: u32, config: i32, msgOpcode: i32): i32 {
  const opcode = <i32>(b0 & 0x0f);
  const rsv = b0 & 0x70;
  if (rsv != 0) {
    // RSV1 marks a compressed message: only with the extension, only on a message's first frame.
    if (rsv != 0x40 || (config & CONFIG_RSV1_ALLOWED) == 0 || opcode == 0 || opcode >= 8) return ERR_RESERVED_BITS;
  }
  if (opcode >= 8) {
    if (opcode > 10) return ERR_RESERVED_OPCODE;
    if ((b0 & 0x80) == 0) return ERR_CONTROL_FRAGMENTED;
    if ((b1 & 0x7f) > 125) return ERR_CONTROL_TOO_LONG;
  } else if (opcode == 0) {
    if (msgOpcode == 0) return ERR_UNEXPECTED_CONTINUATION;
  } else if (opcode <= 2) {
    if (msgOpcode != 0) return ERR_EXPECTED_CONTINUATION;
  } else {
    return ERR_RESERVED_OPCODE;
  }
  const masked = (b1 & 0x80) != 0;
  const peerMasks = (config & CONFIG_PEER_MASKS) != 0;
  if (masked != peerMasks) return peerMasks ? ERR_MASK_REQUIRED : ERR_MASK_FORBIDDEN;
  return ERR_NONE;
}

// @ts-ignore: decorator
@inline function writeEntry(at: usize, info: i32, ptr: usize, len: u32, frameLen: u32): void {
  store<i32>(at, info, E_INFO);
  store<u32>(at, <u32>ptr, E_PTR);
  store<u32>(at, len, E_LEN);
  store<u32>(at, frameLen, E_FRAME_LEN);
}

export function scan(inPtr: usize, inLen: usize, table: usize, tableCap: i32, st: usize): void {
  const end = inPtr + inLen;
  const config = load<i32>(st, S_CONFIG);
  const maxFrame = load<u32>(st, S_MAX_FRAME);
  const maxMessage = load<u32>(st, S_MAX_MESSAGE);
  let phase = load<i32>(st, S_PHASE);
  let remaining = load<u32>(st, S_REMAINING);
  let key = load<u32>(st, S_KEY);
  let keyOffset = load<u32>(st, S_KEY_OFFSET);
  let frameInfo = load<i32>(st, S_FRAME_INFO);
  let frameLen = load<u32>(st, S_FRAME_LEN);
  let msgOpcode = load<i32>(st, S_MSG_OPCODE);
  let msgCompressed = load<i32>(st, S_MSG_COMPRESSED);
  let msgLen = load<u32>(st, S_MSG_LEN);
  let utf8 = load<i32>(st, S_UTF8);
  // Text is validated unless the configuration says not to: then it is unmasked like binary.
  const textOp = (config & CONFIG_SKIP_UTF8) != 0 ? -1 : 1;
  let pos = inPtr;
  let count = 0;
  let err = ERR_NONE;

  while (count < tableCap) {
    if (phase == 1) {
      const avail = min<u32>(remaining, <u32>(end - pos));
      if (avail == 0 && remaining != 0) break;
      const masked = (frameInfo & F_MASKED) != 0;
      let ascii = false;
      if (msgOpcode == textOp && msgCompressed == 0) {
        let r = utf8;
        if (utf8 == 0 && avail <= ASCII_CHECK_MAX) {
          // Short text on a code point boundary: unmasked and checked for ASCII in one walk; only
          // other text goes through the validator (already unmasked).
          ascii = unmaskAscii(pos, avail, masked ? rotateKey(key, keyOffset) : 0);
          if (!ascii) r = utf8Validate(pos, avail, 0, false, 0, 0);
        } else {
          r = utf8Validate(pos, avail, utf8, masked, key, keyOffset);
        }
        if (r < 0) { err = ERR_INVALID_UTF8; break; }
        utf8 = r;
      } else if (masked) {
        maskInPlace(pos, avail, key, keyOffset);
      }
      remaining -= avail;
      keyOffset += avail;
      let info = frameInfo & 0xff;
      if (frameInfo & F_START_PENDING) info |= F_START;
      if (remaining == 0) {
        info |= F_END;
        if (frameInfo & F_FIN) {
          if (msgOpcode == textOp && msgCompressed == 0 && utf8 != 0) { err = ERR_INVALID_UTF8; break; }
          // A short text message whole in this entry: whether it is all ASCII (a cheaper decode).
          if ((info & (0x0f | F_RSV1 | F_START)) == (1 | F_START) && avail <= ASCII_CHECK_MAX && (ascii || (textOp < 0 && isAscii(pos, avail)))) info |= F_ASCII;
          msgOpcode = 0;
        }
        phase = 0;
      }
      frameInfo &= ~F_START_PENDING;
      writeEntry(table + <usize>count * ENTRY_SIZE, info, pos, avail, frameLen);
      count++;
      pos += avail;
      continue;
    }

    if (end - pos < 2) break;
    const b0 = <u32>load<u8>(pos);
    const b1 = <u32>load<u8>(pos, 1);
    err = checkFirstBytes(b0, b1, config, msgOpcode);
    if (err != ERR_NONE) break;
    const len7 = b1 & 0x7f;
    const masked = (b1 & 0x80) != 0;
    let header: usize = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    const keyAt = header;
    if (masked) header += 4;
    if (end - pos < header) break;
    let len: u32 = len7;
    if (len7 == 126) {
      len = <u32>bswap<u16>(load<u16>(pos, 2));
    } else if (len7 == 127) {
      const high = bswap<u32>(load<u32>(pos, 2));
      if (high & 0x80000000) { err = ERR_LENGTH_HIGH_BIT; break; }
      if (high != 0) { err = ERR_FRAME_TOO_BIG; break; }
      len = bswap<u32>(load<u32>(pos, 6));
    }
    if (len > maxFrame) { err = ERR_FRAME_TOO_BIG; break; }
    const opcode = <i32>(b0 & 0x0f);
    const thisKey = masked ? load<u32>(pos + keyAt) : 0;
    const info = opcode | <i32>(b0 & 0x80 ? F_FIN : 0) | <i32>(b0 & 0x40 ? F_RSV1 : 0);

    if (opcode >= 8) {
      // Control frames are small (≤ 125 bytes) and handed out whole.
      if (end - pos < header + len) break;
      const payload = pos + header;
      if (masked) maskInPlace(payload, len, thisKey, 0);
      writeEntry(table + <usize>count * ENTRY_SIZE, info | F_START | F_END, payload, len, len);
      count++;
      pos = payload + len;
      continue;
    }

    if (opcode != 0) {
      msgOpcode = opcode;
      msgCompressed = (b0 & 0x40) != 0 ? 1 : 0;
      msgLen = 0;
      utf8 = 0;
    }
    if (<u64>msgLen + <u64>len > <u64>maxMessage) { err = ERR_MESSAGE_TOO_BIG; break; }
    msgLen += len;
    phase = 1;
    remaining = len;
    key = thisKey;
    keyOffset = 0;
    frameLen = len;
    frameInfo = info | F_START_PENDING | (masked ? F_MASKED : 0);
    pos += header;
  }

  store<i32>(st, phase, S_PHASE);
  store<u32>(st, remaining, S_REMAINING);
  store<u32>(st, key, S_KEY);
  store<u32>(st, keyOffset, S_KEY_OFFSET);
  store<i32>(st, frameInfo, S_FRAME_INFO);
  store<u32>(st, frameLen, S_FRAME_LEN);
  store<i32>(st, msgOpcode, S_MSG_OPCODE);
  store<i32>(st, msgCompressed, S_MSG_COMPRESSED);
  store<u32>(st, msgLen, S_MSG_LEN);
  store<i32>(st, utf8, S_UTF8);
  store<u32>(st, <u32>(pos - inPtr), S_CONSUMED);
  store<i32>(st, count, S_COUNT);
  store<i32>(st, err, S_ERROR);
}
