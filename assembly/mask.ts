// XOR masking (RFC 6455 §5.3). Masking and unmasking are the same operation.
// `key` holds the 4 key bytes little-endian (byte 0 in the low 8 bits); `keyOffset` is how many
// payload bytes came before `ptr` in this frame, so a payload split across chunks continues its key.

/** The key rotated so that its low byte is the one that applies at `keyOffset`. */
// @ts-ignore: decorator
@inline export function rotateKey(key: u32, keyOffset: u32): u32 {
  return rotr<u32>(key, (keyOffset & 3) << 3);
}

export function maskInPlace(ptr: usize, len: usize, key: u32, keyOffset: u32): void {
  let k = rotateKey(key, keyOffset);
  if (k == 0) return;
  const end = ptr + len;
  const kv = i32x4.splat(k);
  // 64 bytes per iteration: four independent loads keep the pipeline busy.
  while (ptr + 64 <= end) {
    v128.store(ptr, v128.xor(v128.load(ptr), kv));
    v128.store(ptr, v128.xor(v128.load(ptr, 16), kv), 16);
    v128.store(ptr, v128.xor(v128.load(ptr, 32), kv), 32);
    v128.store(ptr, v128.xor(v128.load(ptr, 48), kv), 48);
    ptr += 64;
  }
  while (ptr + 16 <= end) {
    v128.store(ptr, v128.xor(v128.load(ptr), kv));
    ptr += 16;
  }
  if (ptr + 8 <= end) {
    const k64 = (<u64>k) | ((<u64>k) << 32);
    store<u64>(ptr, load<u64>(ptr) ^ k64);
    ptr += 8;
  }
  if (ptr + 4 <= end) {
    store<u32>(ptr, load<u32>(ptr) ^ k);
    ptr += 4;
  }
  while (ptr < end) {
    store<u8>(ptr, load<u8>(ptr) ^ <u8>k);
    k = rotr<u32>(k, 8);
    ptr++;
  }
}
