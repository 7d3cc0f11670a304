// Fast string <-> UTF-8 for already-validated bytes, using the runtime's best primitive.
interface NodeBufferCtor {
  from(ab: ArrayBufferLike, offset?: number, length?: number): { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };
  byteLength(s: string, enc: "utf8"): number;
}
const NodeBuffer = (globalThis as unknown as { Buffer?: NodeBufferCtor }).Buffer;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
export const encoder = new TextEncoder();

type Slicer = { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };
let cachedBuffer: ArrayBufferLike | undefined;
let cachedView: Slicer | undefined;

/** Short ASCII is cheaper to build in JS than to hand to a decoder. */
const SHORT_TEXT = 24;

/** Decodes valid UTF-8 bytes[start, end) into a string (a BOM is kept, as RFC 6455 requires). */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= SHORT_TEXT) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return decodeLong(bytes, start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decodeLong(bytes, start, end);
}

function decodeLong(bytes: Uint8Array, start: number, end: number): string {
  if (NodeBuffer) {
    if (bytes.buffer !== cachedBuffer) {
      cachedBuffer = bytes.buffer;
      cachedView = NodeBuffer.from(bytes.buffer);
    }
    const o = bytes.byteOffset;
    return cachedView!.utf8Slice(o + start, o + end);
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** UTF-8 byte length of `s`. */
export function utf8Length(s: string): number {
  if (NodeBuffer) return NodeBuffer.byteLength(s, "utf8");
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
