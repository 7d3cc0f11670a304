// Pure-TS reference implementation of the WASM core: the test oracle, and the fallback where
// WebAssembly SIMD is unavailable. It mirrors assembly/ rule for rule, in plain scalar code.
import type { CoreBackend } from "./backend.js";
import * as L from "./layout.js";
import { ScanError } from "./layout.js";

const PAGE = 65536;

/** One step of the UTF-8 DFA (see assembly/utf8.ts for the state encoding). -1: invalid. */
export function utf8Step(state: number, b: number): number {
  if (state === 0) {
    if (b < 0x80) return 0;
    if (b < 0xc2) return -1;
    if (b < 0xe0) return 1 | (0x80 << 8) | (0xbf << 16);
    if (b < 0xf0) {
      if (b === 0xe0) return 2 | (0xa0 << 8) | (0xbf << 16);
      if (b === 0xed) return 2 | (0x80 << 8) | (0x9f << 16);
      return 2 | (0x80 << 8) | (0xbf << 16);
    }
    if (b === 0xf0) return 3 | (0x90 << 8) | (0xbf << 16);
    if (b < 0xf4) return 3 | (0x80 << 8) | (0xbf << 16);
    if (b === 0xf4) return 3 | (0x80 << 8) | (0x8f << 16);
    return -1;
  }
  if (b < ((state >> 8) & 0xff) || b > ((state >> 16) & 0xff)) return -1;
  const need = (state & 3) - 1;
  return need === 0 ? 0 : need | (0x80 << 8) | (0xbf << 16);
}

export class JsBackend implements CoreBackend {
  readonly name = "js" as const;
  readonly heapBase = 16;
  bytes = new Uint8Array(PAGE);
  words = new Int32Array(this.bytes.buffer);

  ensureMemory(size: number): void {
    if (size <= this.bytes.length) return;
    const grown = new Uint8Array(Math.ceil(size / PAGE) * PAGE);
    grown.set(this.bytes);
    this.bytes = grown;
    this.words = new Int32Array(grown.buffer);
  }

  maskInPlace(ptr: number, len: number, key: number, keyOffset: number): void {
    const m = this.bytes;
    for (let i = 0; i < len; i++) m[ptr + i]! ^= (key >>> (((keyOffset + i) & 3) * 8)) & 0xff;
  }

  utf8Validate(ptr: number, len: number, state: number, masked: boolean, key: number, keyOffset: number): number {
    if (masked) this.maskInPlace(ptr, len, key, keyOffset);
    const m = this.bytes;
    for (let i = 0; i < len; i++) {
      state = utf8Step(state, m[ptr + i]!);
      if (state < 0) return -1 - i;
    }
    return state;
  }

  scan(inPtr: number, inLen: number, tablePtr: number, tableCap: number, statePtr: number): void {
    const m = this.bytes;
    const w = this.words;
    const s = statePtr >> 2;
    const end = inPtr + inLen;
    const config = w[s + L.S_CONFIG]!;
    const maxFrame = w[s + L.S_MAX_FRAME]! >>> 0;
    const maxMessage = w[s + L.S_MAX_MESSAGE]! >>> 0;
    let phase = w[s + L.S_PHASE]!;
    let remaining = w[s + L.S_REMAINING]! >>> 0;
    let key = w[s + L.S_KEY]! >>> 0;
    let keyOffset = w[s + L.S_KEY_OFFSET]! >>> 0;
    let frameInfo = w[s + L.S_FRAME_INFO]!;
    let frameLen = w[s + L.S_FRAME_LEN]! >>> 0;
    let msgOpcode = w[s + L.S_MSG_OPCODE]!;
    let msgCompressed = w[s + L.S_MSG_COMPRESSED]!;
    let msgLen = w[s + L.S_MSG_LEN]! >>> 0;
    let utf8 = w[s + L.S_UTF8]!;
    // Text is validated unless the configuration says not to: then it is unmasked like binary.
    const textOp = (config & L.CONFIG_SKIP_UTF8) !== 0 ? -1 : 1;
    let pos = inPtr;
    let count = 0;
    let err: ScanError = ScanError.None;
    const writeEntry = (info: number, ptr: number, len: number, fLen: number) => {
      const e = (tablePtr >> 2) + count * L.ENTRY_FIELDS;
      w[e + L.E_INFO] = info;
      w[e + L.E_PTR] = ptr;
      w[e + L.E_LEN] = len;
      w[e + L.E_FRAME_LEN] = fLen;
      count++;
    };

    while (count < tableCap) {
      if (phase === 1) {
        const avail = Math.min(remaining, end - pos);
        if (avail === 0 && remaining !== 0) break;
        const masked = (frameInfo & L.F_MASKED) !== 0;
        if (msgOpcode === textOp && msgCompressed === 0) {
          const r = this.utf8Validate(pos, avail, utf8, masked, key, keyOffset);
          if (r < 0) { err = ScanError.InvalidUtf8; break; }
          utf8 = r;
        } else if (masked) {
          this.maskInPlace(pos, avail, key, keyOffset);
        }
        remaining -= avail;
        keyOffset = (keyOffset + avail) >>> 0;
        let info = frameInfo & 0xff;
        if (frameInfo & L.F_START_PENDING) info |= L.F_START;
        if (remaining === 0) {
          info |= L.F_END;
          if (frameInfo & L.F_FIN) {
            if (msgOpcode === textOp && msgCompressed === 0 && utf8 !== 0) { err = ScanError.InvalidUtf8; break; }
            // A short text message whole in this entry: whether it is all ASCII (a cheaper decode).
            if ((info & (0x0f | L.F_RSV1 | L.F_START)) === (1 | L.F_START) && avail <= L.ASCII_CHECK_MAX && isAscii(m, pos, avail)) info |= L.F_ASCII;
            msgOpcode = 0;
          }
          phase = 0;
        }
        frameInfo &= ~L.F_START_PENDING;
        writeEntry(info, pos, avail, frameLen);
        pos += avail;
        continue;
      }

      if (end - pos < 2) break;
      const b0 = m[pos]!;
      const b1 = m[pos + 1]!;
      err = checkFirstBytes(b0, b1, config, msgOpcode);
      if (err !== ScanError.None) break;
      const len7 = b1 & 0x7f;
      const masked = (b1 & 0x80) !== 0;
      let header = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      const keyAt = header;
      if (masked) header += 4;
      if (end - pos < header) break;
      let len = len7;
      if (len7 === 126) {
        len = (m[pos + 2]! << 8) | m[pos + 3]!;
      } else if (len7 === 127) {
        const high = readU32BE(m, pos + 2);
        if (high & 0x80000000) { err = ScanError.LengthHighBit; break; }
        if (high !== 0) { err = ScanError.FrameTooBig; break; }
        len = readU32BE(m, pos + 6);
      }
      if (len > maxFrame) { err = ScanError.FrameTooBig; break; }
      const opcode = b0 & 0x0f;
      const thisKey = masked ? (m[pos + keyAt]! | (m[pos + keyAt + 1]! << 8) | (m[pos + keyAt + 2]! << 16) | (m[pos + keyAt + 3]! << 24)) >>> 0 : 0;
      const info = opcode | (b0 & 0x80 ? L.F_FIN : 0) | (b0 & 0x40 ? L.F_RSV1 : 0);

      if (opcode >= 8) {
        if (end - pos < header + len) break;
        const payload = pos + header;
        if (masked) this.maskInPlace(payload, len, thisKey, 0);
        writeEntry(info | L.F_START | L.F_END, payload, len, len);
        pos = payload + len;
        continue;
      }
      if (opcode !== 0) {
        msgOpcode = opcode;
        msgCompressed = b0 & 0x40 ? 1 : 0;
        msgLen = 0;
        utf8 = 0;
      }
      if (msgLen + len > maxMessage) { err = ScanError.MessageTooBig; break; }
      msgLen += len;
      phase = 1;
      remaining = len;
      key = thisKey;
      keyOffset = 0;
      frameLen = len;
      frameInfo = info | L.F_START_PENDING | (masked ? L.F_MASKED : 0);
      pos += header;
    }

    w[s + L.S_PHASE] = phase;
    w[s + L.S_REMAINING] = remaining;
    w[s + L.S_KEY] = key;
    w[s + L.S_KEY_OFFSET] = keyOffset;
    w[s + L.S_FRAME_INFO] = frameInfo;
    w[s + L.S_FRAME_LEN] = frameLen;
    w[s + L.S_MSG_OPCODE] = msgOpcode;
    w[s + L.S_MSG_COMPRESSED] = msgCompressed;
    w[s + L.S_MSG_LEN] = msgLen;
    w[s + L.S_UTF8] = utf8;
    w[s + L.S_CONSUMED] = pos - inPtr;
    w[s + L.S_COUNT] = count;
    w[s + L.S_ERROR] = err;
  }
}

function readU32BE(m: Uint8Array, at: number): number {
  return ((m[at]! << 24) | (m[at + 1]! << 16) | (m[at + 2]! << 8) | m[at + 3]!) >>> 0;
}

/** Whether every byte of m[ptr, ptr+len) is below 0x80 (mirrors assembly/utf8.ts isAscii). */
function isAscii(m: Uint8Array, ptr: number, len: number): boolean {
  let acc = 0;
  for (let i = ptr, end = ptr + len; i < end; i++) acc |= m[i]!;
  return acc < 0x80;
}

/** Rules the first two header bytes decide (mirrors assembly/scan.ts checkFirstBytes). */
function checkFirstBytes(b0: number, b1: number, config: number, msgOpcode: number): ScanError {
  const opcode = b0 & 0x0f;
  const rsv = b0 & 0x70;
  if (rsv !== 0) {
    if (rsv !== 0x40 || (config & L.CONFIG_RSV1_ALLOWED) === 0 || opcode === 0 || opcode >= 8) return ScanError.ReservedBits;
  }
  if (opcode >= 8) {
    if (opcode > 10) return ScanError.ReservedOpcode;
    if ((b0 & 0x80) === 0) return ScanError.ControlFragmented;
    if ((b1 & 0x7f) > 125) return ScanError.ControlTooLong;
  } else if (opcode === 0) {
    if (msgOpcode === 0) return ScanError.UnexpectedContinuation;
  } else if (opcode <= 2) {
    if (msgOpcode !== 0) return ScanError.ExpectedContinuation;
  } else {
    return ScanError.ReservedOpcode;
  }
  const masked = (b1 & 0x80) !== 0;
  const peerMasks = (config & L.CONFIG_PEER_MASKS) !== 0;
  if (masked !== peerMasks) return peerMasks ? ScanError.MaskRequired : ScanError.MaskForbidden;
  return ScanError.None;
}
