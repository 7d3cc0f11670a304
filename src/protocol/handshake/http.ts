// Incremental HTTP/1.1 head parser for the upgrade handshake. Finds the blank line by scanning only
// new bytes, then splits lines by hand: linear time, no regex backtracking over header values.
import { HandshakeError } from "../errors.js";
import { concatBytes } from "../../core/bytes.js";

export interface HttpHead {
  /** Request: method, target, version. Response: version, status, reason. */
  startLine: [string, string, string];
  /** Lower-cased names; repeated headers keep every value in order. */
  headers: Map<string, string[]>;
}

export interface HeadLimits {
  maxBytes: number;
  maxHeaders: number;
}

export class HeadParser {
  #buf: Uint8Array;
  #len = 0;
  #scanned = 0;

  readonly #limits: HeadLimits;

  constructor(limits: HeadLimits) {
    this.#limits = limits;
    this.#buf = new Uint8Array(Math.min(limits.maxBytes, 1024));
  }

  /**
   * Adds bytes. Returns the parsed head and the bytes after it once the blank line arrived,
   * undefined while more is needed. Throws HandshakeError (431/400) on oversize or garbage.
   */
  push(chunk: Uint8Array): { head: HttpHead; rest: Uint8Array } | undefined {
    const room = this.#limits.maxBytes - this.#len;
    const take = Math.min(chunk.length, room);
    this.#ensure(this.#len + take);
    this.#buf.set(chunk.subarray(0, take), this.#len);
    this.#len += take;
    const buf = this.#buf;
    for (let i = Math.max(this.#scanned, 3); i < this.#len; i++) {
      if (buf[i] === 0x0a && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) {
        const headEnd = i + 1;
        const head = parseHead(buf.subarray(0, headEnd - 4), this.#limits.maxHeaders);
        // Bytes after the head belong to the WebSocket: keep them, from the buffer and the chunk.
        const restOfBuf = buf.subarray(headEnd, this.#len);
        const rest = take < chunk.length ? concatBytes([restOfBuf, chunk.subarray(take)]) : restOfBuf.slice();
        return { head, rest };
      }
    }
    this.#scanned = this.#len;
    if (this.#len >= this.#limits.maxBytes) throw new HandshakeError("request head too large", 431, "WS_ERR_HEAD_TOO_LARGE");
    return undefined;
  }

  #ensure(n: number): void {
    if (n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.min(this.#limits.maxBytes, Math.max(n, this.#buf.length * 2)));
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }
}

function isTokenChar(c: number): boolean {
  // RFC 9110 tchar
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

/**
 * Refuses control characters in header lines other than HTAB and the CRLF line ends (NUL, lone CR
 * or LF, DEL), as llhttp does. The start line is left to the method and version checks.
 */
function checkControlChars(bytes: Uint8Array): void {
  let i = 0;
  while (i < bytes.length && !(bytes[i] === 0x0d && bytes[i + 1] === 0x0a)) i++;
  for (i += 2; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c >= 0x20 ? c !== 0x7f : c === 0x09) continue;
    if (c === 0x0d && bytes[i + 1] === 0x0a) {
      i++;
      continue;
    }
    throw new HandshakeError("control character in request head", 400, "WS_ERR_BAD_REQUEST");
  }
}

function parseHead(bytes: Uint8Array, maxHeaders: number): HttpHead {
  checkControlChars(bytes);
  // Header bytes are ISO-8859-1 per RFC 9110; WebSocket's own headers are ASCII.
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  const lines = text.split("\r\n");
  const first = lines[0]!;
  const a = first.indexOf(" ");
  const b = a < 0 ? -1 : first.indexOf(" ", a + 1);
  if (a <= 0) throw new HandshakeError("malformed start line", 400, "WS_ERR_BAD_REQUEST");
  const startLine: [string, string, string] = b < 0 ? [first.slice(0, a), first.slice(a + 1), ""] : [first.slice(0, a), first.slice(a + 1, b), first.slice(b + 1)];
  if (lines.length - 1 > maxHeaders) throw new HandshakeError("too many headers", 431, "WS_ERR_TOO_MANY_HEADERS");
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HandshakeError("malformed header line", 400, "WS_ERR_BAD_REQUEST");
    for (let j = 0; j < colon; j++) {
      if (!isTokenChar(line.charCodeAt(j))) throw new HandshakeError("invalid header name", 400, "WS_ERR_BAD_REQUEST");
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  return { startLine, headers };
}

/** Comma-separated list items of every value of header `name` (RFC 9110 §5.6.1), trimmed, non-empty. */
export function headerList(head: HttpHead, name: string): string[] {
  const out: string[] = [];
  for (const v of head.headers.get(name) ?? []) {
    for (const item of v.split(",")) {
      const t = item.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

/** The single value of header `name`; undefined if absent, HandshakeError if repeated. */
export function headerValue(head: HttpHead, name: string): string | undefined {
  const v = head.headers.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new HandshakeError(`repeated ${name} header`, 400, "WS_ERR_BAD_REQUEST");
  return v[0];
}

/** Formats a head: start line, headers (values checked for CR/LF), blank line. */
export function formatHead(startLine: string, headers: [string, string][]): Uint8Array {
  let s = startLine + "\r\n";
  for (const [k, v] of headers) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v) || !k) throw new TypeError(`invalid header ${JSON.stringify(k)}`);
    s += `${k}: ${v}\r\n`;
  }
  s += "\r\n";
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
