// Deflate engine for runtimes without a usable node:zlib (browsers, service workers, workers): pako,
// a line-by-line port of zlib to JS. We drive its low-level z_stream API the way C code drives zlib,
// so we get what permessage-deflate needs and CompressionStream lacks: a synchronous Z_SYNC_FLUSH,
// a compression context kept across messages, exact window sizes, and output checked chunk by chunk
// (a deflate bomb stops at the limit). Chosen over fflate by measurement (README "Deflate engines").
import { ZStream, zlibDeflate, zlibDeflateEnd, zlibDeflateInit2, zlibInflate, zlibInflateEnd, zlibInflateInit2, zlibInflateReset, Z_SYNC_FLUSH } from "pako";
import { InvalidPayloadError, MessageTooBigError } from "../errors.js";
import { concatBytes } from "../../core/bytes.js";
import type { Compressor, Decompressor, DeflateEngine, DeflateSettings } from "./deflate-engine.js";

const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5; // "no progress possible": all input used and all output flushed
const DEFLATED = 8;
const DEFAULT_STRATEGY = 0;
const OUT_CHUNK = 64 * 1024;
/** Each call writes here and copies out only what it produced: no 64 KiB buffer per message. */
const scratch = new Uint8Array(OUT_CHUNK);

/**
 * Feeds `input` through `step` with a sync flush; at most `maxOutput` bytes out. `ended` says the
 * deflate stream finished (a BFINAL block, which RFC 7692 §7.2.3.3 allows a peer to send).
 */
function run(s: ZStream, step: (s: ZStream, flush: typeof Z_SYNC_FLUSH) => number, input: Uint8Array, maxOutput: number): { out: Uint8Array; ended: boolean } {
  s.input = input;
  s.next_in = 0;
  s.avail_in = input.length;
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    s.output = scratch;
    s.next_out = 0;
    s.avail_out = OUT_CHUNK;
    const status = step(s, Z_SYNC_FLUSH);
    if (status < 0 && status !== Z_BUF_ERROR) throw new InvalidPayloadError(`invalid compressed data${s.msg ? `: ${s.msg}` : ""}`, "WS_ERR_INVALID_COMPRESSED_DATA");
    const have = OUT_CHUNK - s.avail_out;
    if (have > 0) {
      total += have;
      if (total > maxOutput) throw new MessageTooBigError("message over the size limit after decompression");
      parts.push(scratch.slice(0, have));
    }
    if (status === Z_STREAM_END) return release(s, parts, total, true);
    if (s.avail_out !== 0 || status === Z_BUF_ERROR) return release(s, parts, total, false);
  }
}

/** Drops the stream's references to the caller's and the shared buffers, then joins the output. */
function release(s: ZStream, parts: Uint8Array[], total: number, ended: boolean): { out: Uint8Array; ended: boolean } {
  s.input = scratch;
  s.avail_in = 0;
  return { out: concatBytes(parts, total), ended };
}

class PakoCompressor implements Compressor {
  readonly #s = new ZStream();
  constructor(settings: DeflateSettings) {
    // Negative window bits: raw deflate, no zlib header or checksum (RFC 7692 §7.2.1).
    const status = zlibDeflateInit2(this.#s, settings.level, DEFLATED, -settings.windowBits, settings.memLevel, DEFAULT_STRATEGY);
    if (status !== 0) throw new RangeError(`cannot set up deflate (window ${settings.windowBits}, level ${settings.level}, memLevel ${settings.memLevel})`);
  }
  compress(data: Uint8Array): Uint8Array {
    return run(this.#s, zlibDeflate, data, Infinity).out;
  }
  close(): void {
    zlibDeflateEnd(this.#s);
  }
}

class PakoDecompressor implements Decompressor {
  readonly #s = new ZStream();
  constructor(windowBits: number) {
    zlibInflateInit2(this.#s, -windowBits);
  }
  decompress(data: Uint8Array, maxOutput: number): Uint8Array {
    const { out, ended } = run(this.#s, zlibInflate, data, maxOutput);
    // The peer ended its stream: the next message starts a new one (bytes after the end, like the
    // 00 00 ff ff we append, are not part of it).
    if (ended) zlibInflateReset(this.#s);
    return out;
  }
  close(): void {
    zlibInflateEnd(this.#s);
  }
}

export const pakoEngine: DeflateEngine = {
  name: "pako",
  // zlib (and so pako) cannot write a raw deflate stream with a 256-byte window; 9–15 it can.
  supportsWindowBits: (bits) => bits >= 9 && bits <= 15,
  compressor: (settings) => new PakoCompressor(settings),
  decompressor: (windowBits) => new PakoDecompressor(windowBits),
};
