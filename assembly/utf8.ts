// Streaming UTF-8 validation (Unicode Table 3-7 well-formed sequences).
//
// State between chunks is one i32: 0 at a code point boundary, otherwise
//   need (continuation bytes still expected, 1..3) | lo << 8 | hi << 16
// where [lo, hi] bounds the next byte. A return value < 0 is an error: -1 - (offset of the first
// byte that cannot continue a valid prefix). The bulk work is the Keiser–Lemire lookup method
// (three 16-entry tables applied with i8x16.swizzle); the scalar DFA below decides every edge
// (chunk ends, the exact error offset) so that both paths give identical answers.

import { rotateKey } from "./mask";

/** One DFA step. Returns the next state, or -1 if `b` is invalid here. */
// @ts-ignore: decorator
@inline export function utf8Step(state: i32, b: u32): i32 {
  if (state == 0) {
    if (b < 0x80) return 0;
    if (b < 0xc2) return -1;
    if (b < 0xe0) return 1 | (0x80 << 8) | (0xbf << 16);
    if (b < 0xf0) {
      if (b == 0xe0) return 2 | (0xa0 << 8) | (0xbf << 16);
      if (b == 0xed) return 2 | (0x80 << 8) | (0x9f << 16);
      return 2 | (0x80 << 8) | (0xbf << 16);
    }
    if (b == 0xf0) return 3 | (0x90 << 8) | (0xbf << 16);
    if (b < 0xf4) return 3 | (0x80 << 8) | (0xbf << 16);
    if (b == 0xf4) return 3 | (0x80 << 8) | (0x8f << 16);
    return -1;
  }
  const lo = <u32>(state >> 8) & 0xff;
  const hi = <u32>(state >> 16) & 0xff;
  if (b < lo || b > hi) return -1;
  const need = (state & 3) - 1;
  return need == 0 ? 0 : need | (0x80 << 8) | (0xbf << 16);
}

/** Scalar DFA over [ptr, end) starting from `state`; `base` is where offsets count from. */
function utf8Scalar(ptr: usize, end: usize, state: i32, base: usize): i32 {
  while (ptr < end) {
    if (state == 0) {
      // ASCII fast path, 8 bytes at a time.
      while (ptr + 8 <= end && (load<u64>(ptr) & 0x8080808080808080) == 0) ptr += 8;
      if (ptr >= end) break;
    }
    state = utf8Step(state, load<u8>(ptr));
    if (state < 0) return -1 - <i32>(ptr - base);
    ptr++;
  }
  return state;
}

// Error bits of the lookup method (simdjson's naming).
const TOO_SHORT: u8 = 1 << 0;
const TOO_LONG: u8 = 1 << 1;
const OVERLONG_3: u8 = 1 << 2;
const TOO_LARGE: u8 = 1 << 3;
const SURROGATE: u8 = 1 << 4;
const OVERLONG_2: u8 = 1 << 5;
const TOO_LARGE_1000: u8 = 1 << 6;
const OVERLONG_4: u8 = 1 << 6;
const TWO_CONTS: u8 = 1 << 7;
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

// @ts-ignore: decorator
@inline function byte1High(): v128 {
  return i8x16(
    TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
    TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
  );
}
// @ts-ignore: decorator
@inline function byte1Low(): v128 {
  return i8x16(
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    CARRY | TOO_LARGE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
  );
}
// @ts-ignore: decorator
@inline function byte2High(): v128 {
  return i8x16(
    TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
  );
}

/** Non-zero lanes mark errors in `input`, given the 16 bytes before it in `prev`. */
// @ts-ignore: decorator
@inline function blockErrors(input: v128, prev: v128): v128 {
  const prev1 = i8x16.shuffle(prev, input, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
  const prev2 = i8x16.shuffle(prev, input, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
  const prev3 = i8x16.shuffle(prev, input, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28);
  const lowNibble = i8x16.splat(0x0f);
  const special = v128.and(
    v128.and(
      i8x16.swizzle(byte1High(), i8x16.shr_u(prev1, 4)),
      i8x16.swizzle(byte1Low(), v128.and(prev1, lowNibble)),
    ),
    i8x16.swizzle(byte2High(), i8x16.shr_u(input, 4)),
  );
  // Bytes 2 and 3 after a 3- or 4-byte lead must be continuations: the lookup only sees pairs.
  const must23 = v128.or(
    i8x16.sub_sat_u(prev2, i8x16.splat(<i8>(0xe0 - 0x80))),
    i8x16.sub_sat_u(prev3, i8x16.splat(<i8>(0xf0 - 0x80))),
  );
  return v128.xor(v128.and(must23, i8x16.splat(<i8>0x80)), special);
}

// @ts-ignore: decorator
@inline function isContinuation(b: u32): bool {
  return (b & 0xc0) == 0x80;
}

/** The last code point boundary at or before `p`, given a valid prefix starting at `start`. */
// @ts-ignore: decorator
@inline function boundaryBefore(p: usize, start: usize): usize {
  while (p > start && isContinuation(load<u8>(p - 1))) p--;
  if (p > start && load<u8>(p - 1) >= 0xc0) p--;
  return p;
}

/** Whether every byte of [ptr, ptr+len) is below 0x80. */
export function isAscii(ptr: usize, len: usize): bool {
  const end = ptr + len;
  let p = ptr;
  let acc = i8x16.splat(0);
  while (p + 16 <= end) {
    acc = v128.or(acc, v128.load(p));
    p += 16;
  }
  let tail: u64 = 0;
  while (p + 8 <= end) {
    tail |= load<u64>(p);
    p += 8;
  }
  while (p < end) {
    tail |= <u64>load<u8>(p);
    p++;
  }
  return !v128.any_true(v128.and(acc, i8x16.splat(<i8>0x80))) && (tail & 0x8080808080808080) == 0;
}

/**
 * Unmasks [ptr, ptr+len) in place with `k` (the key rotated to `ptr`; 0 leaves the bytes as they
 * are) and tells whether every byte is ASCII, in one walk: a short text piece starting on a code
 * point boundary is then known valid without utf8Validate, and F_ASCII needs no second pass.
 */
export function unmaskAscii(ptr: usize, len: usize, k: u32): bool {
  const end = ptr + len;
  let p = ptr;
  const kv = i32x4.splat(k);
  let acc = i8x16.splat(0);
  while (p + 16 <= end) {
    const v = v128.xor(v128.load(p), kv);
    v128.store(p, v);
    acc = v128.or(acc, v);
    p += 16;
  }
  let tail: u64 = 0;
  if (p + 8 <= end) {
    const v = load<u64>(p) ^ ((<u64>k) | ((<u64>k) << 32));
    store<u64>(p, v);
    tail = v;
    p += 8;
  }
  if (p + 4 <= end) {
    const v = load<u32>(p) ^ k;
    store<u32>(p, v);
    tail |= <u64>v;
    p += 4;
  }
  while (p < end) {
    const v = load<u8>(p) ^ <u8>k;
    store<u8>(p, v);
    tail |= <u64>v;
    k = rotr<u32>(k, 8);
    p++;
  }
  return !v128.any_true(v128.and(acc, i8x16.splat(<i8>0x80))) && (tail & 0x8080808080808080) == 0;
}

/**
 * Validates [ptr, ptr+len) continuing from `state`. If `masked`, first XORs each byte with the
 * key (at `keyOffset`) in place, in the same walk over the bytes.
 */
export function utf8Validate(ptr: usize, len: usize, state: i32, masked: bool, key: u32, keyOffset: u32): i32 {
  const end = ptr + len;
  let p = ptr;
  let k = rotateKey(key, keyOffset);
  // Finish a sequence left open by the previous chunk, one byte at a time.
  while (state != 0 && p < end) {
    let b = <u32>load<u8>(p);
    if (masked) {
      b ^= k & 0xff;
      store<u8>(p, <u8>b);
      k = rotr<u32>(k, 8);
    }
    state = utf8Step(state, b);
    if (state < 0) return -1 - <i32>(p - ptr);
    p++;
  }
  if (state != 0) return state; // the chunk ended inside that same sequence
  const regionStart = p;
  const kv = i32x4.splat(k);
  const highBits = i8x16.splat(<i8>0x80);
  // A lane above this marks a lead whose sequence may run past the block.
  const incompleteMax = i8x16(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, <i8>0xef, <i8>0xdf, <i8>0xbf);
  let prev = i8x16.splat(0);
  let prevIncomplete = false;
  let unmaskedEnd = p; // in masked mode, bytes before this are already unmasked
  // 64 bytes per step: one branch for all-ASCII, one for errors, errors OR-ed across 4 blocks.
  while (p + 64 <= end) {
    let a = v128.load(p);
    let b = v128.load(p, 16);
    let c = v128.load(p, 32);
    let d = v128.load(p, 48);
    if (masked) {
      a = v128.xor(a, kv); b = v128.xor(b, kv); c = v128.xor(c, kv); d = v128.xor(d, kv);
      v128.store(p, a); v128.store(p, b, 16); v128.store(p, c, 32); v128.store(p, d, 48);
      unmaskedEnd = p + 64;
    }
    if (!v128.any_true(v128.and(v128.or(v128.or(a, b), v128.or(c, d)), highBits))) {
      if (prevIncomplete) break; // an open sequence meets ASCII: the DFA pins the offset
    } else {
      const err = v128.or(v128.or(blockErrors(a, prev), blockErrors(b, a)), v128.or(blockErrors(c, b), blockErrors(d, c)));
      if (v128.any_true(err)) {
        const r = utf8Scalar(boundaryBefore(p, regionStart), p + 64, 0, ptr);
        if (r < 0) return r;
        break; // not reached while both methods agree; the DFA decides the rest
      }
      prevIncomplete = v128.any_true(i8x16.gt_u(d, incompleteMax));
    }
    prev = d;
    p += 64;
  }
  while (p + 16 <= end) {
    let input = v128.load(p);
    if (masked && p >= unmaskedEnd) {
      input = v128.xor(input, kv);
      v128.store(p, input);
      unmaskedEnd = p + 16;
    }
    if (!v128.any_true(v128.and(input, highBits))) {
      if (prevIncomplete) break;
    } else {
      if (v128.any_true(blockErrors(input, prev))) {
        const r = utf8Scalar(boundaryBefore(p, regionStart), p + 16, 0, ptr);
        if (r < 0) return r;
        break;
      }
      prevIncomplete = v128.any_true(i8x16.gt_u(input, incompleteMax));
    }
    prev = input;
    p += 16;
  }
  // The tail (and anything the block loop left) goes through the DFA from a boundary.
  if (masked && unmaskedEnd < end) {
    let q = unmaskedEnd;
    let kt = rotateKey(key, keyOffset + <u32>(q - ptr));
    while (q < end) {
      store<u8>(q, load<u8>(q) ^ <u8>kt);
      kt = rotr<u32>(kt, 8);
      q++;
    }
  }
  return utf8Scalar(boundaryBefore(p, regionStart), end, 0, ptr);
}
