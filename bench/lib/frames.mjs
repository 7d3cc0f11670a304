// The frame reader of the benchmarks' no-library floors (bench/e2e/node-floor.mjs,
// bench/fanout/servers/node-floor.mjs): a client's masked frame at `at`, read into the shared
// `frame` (no object per frame: a floor must not allocate what a library would not).
export const frame = { op: 0, len: 0, key: 0, payload: 0, end: 0 };

/** Fills `frame` with the masked frame at `at` and returns true, or false when `buf` does not hold all of it. */
export function readMaskedFrame(buf, at) {
  if (buf.length - at < 2) return false;
  let len = buf[at + 1] & 127;
  let h = at + 2;
  if (len === 126) {
    if (buf.length - at < 4) return false;
    len = buf.readUInt16BE(at + 2);
    h = at + 4;
  } else if (len === 127) {
    if (buf.length - at < 10) return false;
    len = buf.readUInt32BE(at + 6);
    h = at + 10;
  }
  if (buf.length < h + 4 + len) return false;
  frame.op = buf[at] & 15;
  frame.len = len;
  frame.key = h;
  frame.payload = h + 4;
  frame.end = h + 4 + len;
  return true;
}
