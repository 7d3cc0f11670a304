// Deflate engine on node:zlib (native). Node's streams are asynchronous and its *Sync helpers close
// the stream after one call, so neither keeps a compression context across messages synchronously.
// We drive the native handle the way Node's own sync path does (handle.writeSync + the stream's
// write state), without closing it. These are Node internals (Deno's and Bun's node:zlib have them
// too): `zlibEngineAvailable()` checks they are there, and deflate.ts falls back to the pako engine
// where they are not.
import * as zlib from "node:zlib";
import { InvalidPayloadError, MessageTooBigError } from "../protocol/errors.js";
import type { Compressor, Decompressor, DeflateEngine, DeflateSettings } from "../protocol/extensions/deflate-engine.js";
import { concatBytes } from "../core/bytes.js";

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  /** Called by the native side, synchronously within writeSync, when zlib reports an error. */
  onerror: (this: ZlibHandle, message: string, errno: number) => void;
  [kError]?: Error;
}

interface ZlibInternals {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
  destroyed: boolean;
  close(): void;
  on(event: "error", f: (e: Error) => void): void;
}

const kError = Symbol("wasmsocket.zlibError");

/**
 * Our handles' onerror: keeps zlib's message for run() to check after each write. Node, Deno and
 * Bun all call it synchronously within writeSync, but the streams' own handler destroys the stream
 * at once only on Node and Bun: Deno's waits a tick, and its write state (input left over, output
 * room to spare) reads like a stream that ended, so corrupt data came out as an empty message.
 */
function recordError(this: ZlibHandle, message: string, errno: number): void {
  // As Node's zlib reports it (ws passes this error on): zlib's message, errno and code (Z_DATA_ERROR...).
  this[kError] = Object.assign(new Error(message), { errno, code: (zlib as unknown as { codes?: Record<number, string> }).codes?.[errno] });
}

const SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
const OUT_CHUNK = 64 * 1024;
/** Each zlib stream allocates an output buffer of this size that we never use (we pass `scratch`). */
const MIN_CHUNK = zlib.constants.Z_MIN_CHUNK;
/** zlib writes here, and each call copies out only what it produced (no 64 KiB buffer per message). */
const scratch = new Uint8Array(OUT_CHUNK); // not a Buffer: slice() then skips Buffer's species path

/**
 * Runs `input` through the stream with a sync flush; at most `maxOutput` bytes out. `ended` says
 * the deflate stream finished (a block with BFINAL set, which RFC 7692 §7.2.3.3 allows).
 */
function run(z: ZlibInternals, input: Uint8Array, maxOutput: number): { out: Uint8Array; ended: boolean } {
  const parts: Uint8Array[] = [];
  let total = 0;
  let inOff = 0;
  let inLen = input.length;
  for (;;) {
    const out = scratch;
    const handle = z._handle;
    if (!handle) throw new InvalidPayloadError("compressed stream closed after an error", "WS_ERR_INVALID_COMPRESSED_DATA");
    handle.writeSync(SYNC_FLUSH, input, inOff, inLen, out, 0, OUT_CHUNK);
    const error = handle[kError];
    if (error !== undefined || z.destroyed || !z._handle) {
      z.close(); // unusable after an error; the connection fails with 1007 (RFC 6455 §7.4.1)
      const err = new InvalidPayloadError(`invalid compressed data: ${error ? `${error.message} (${(error as { errno?: number }).errno})` : "stream closed"}`, "WS_ERR_INVALID_COMPRESSED_DATA");
      if (error) (err as { cause?: unknown }).cause = error;
      throw err;
    }
    const availOut = z._writeState[0]!;
    const availIn = z._writeState[1]!;
    const have = OUT_CHUNK - availOut;
    if (have > 0) {
      total += have;
      if (total > maxOutput) throw new MessageTooBigError("message over the size limit after decompression");
      parts.push(out.slice(0, have));
    }
    inOff += inLen - availIn;
    inLen = availIn;
    if (availOut !== 0) break; // the output had room left: everything was flushed
  }
  // Input left over with output room to spare: the stream ended before the input did.
  const ended = inLen > 0;
  return { out: concatBytes(parts, total), ended };
}

function ignore(): void {}

function open(z: zlib.DeflateRaw | zlib.InflateRaw): ZlibInternals {
  const s = z as unknown as ZlibInternals;
  s._handle!.onerror = recordError; // in place of the stream's, which would destroy it (maybe later)
  s.on("error", ignore); // errors are detected synchronously in run(); keep 'error' from throwing later
  return s;
}

class ZlibCompressor implements Compressor {
  private readonly z: ZlibInternals;
  constructor(s: DeflateSettings) {
    this.z = open(zlib.createDeflateRaw({ windowBits: s.windowBits, level: s.level, memLevel: s.memLevel, chunkSize: MIN_CHUNK }));
  }
  compress(data: Uint8Array): Uint8Array {
    return run(this.z, data, Infinity).out;
  }
  close(): void {
    this.z.close();
  }
}

class ZlibDecompressor implements Decompressor {
  private z: ZlibInternals | undefined;
  constructor(private readonly windowBits: number) {}
  decompress(data: Uint8Array, maxOutput: number): Uint8Array {
    this.z ??= open(zlib.createInflateRaw({ windowBits: this.windowBits, chunkSize: MIN_CHUNK }));
    // Output is checked every 64 KiB: a bomb costs at most the limit plus one chunk.
    const { out, ended } = run(this.z, data, maxOutput);
    if (ended) this.close(); // the peer ended its stream: the next message starts a new one
    return out;
  }
  close(): void {
    this.z?.close();
    this.z = undefined;
  }
}

export const zlibEngine: DeflateEngine = {
  name: "node:zlib",
  supportsWindowBits: (bits) => bits >= 8 && bits <= 15,
  compressor: (s) => new ZlibCompressor(s),
  decompressor: (bits) => new ZlibDecompressor(bits),
};

/**
 * Whether this runtime's node:zlib exposes what the sync engine needs (Node does; others may not)
 * and reports corrupt data within writeSync: a reserved block type (RFC 1951 §3.2.3) must fail.
 */
export function zlibEngineAvailable(): boolean {
  let z: zlib.InflateRaw | undefined;
  try {
    z = zlib.createInflateRaw();
    const s = z as unknown as ZlibInternals;
    const handle = s._handle;
    if (typeof handle?.writeSync !== "function" || !(s._writeState instanceof Uint32Array)) return false;
    open(z);
    handle.writeSync(SYNC_FLUSH, Uint8Array.of(0x07, 0x00, 0x00, 0xff, 0xff), 0, 5, new Uint8Array(64), 0, 64);
    return handle[kError] !== undefined;
  } catch {
    return false;
  } finally {
    z?.close();
  }
}

