// Deflate engine for runtimes without node:zlib (browsers, service workers): fflate, a streaming
// raw deflate in plain JS with sync flush (CompressionStream cannot sync-flush). fflate always
// compresses with a 32 KiB window, so it accepts only window-bits 15 for its own compression.
import { Deflate, Inflate } from "fflate";
import { MessageTooBigError } from "../errors.js";
import type { Compressor, Decompressor, DeflateEngine, DeflateSettings } from "./deflate-engine.js";

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

class FflateCompressor implements Compressor {
  private chunks: Uint8Array[] = [];
  private total = 0;
  private readonly d: Deflate;
  constructor(settings: DeflateSettings) {
    const level = Math.max(0, Math.min(9, settings.level)) as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
    this.d = new Deflate({ level, mem: Math.max(0, Math.min(12, settings.memLevel)) as 8 }, (chunk) => {
      this.chunks.push(chunk);
      this.total += chunk.length;
    });
  }
  compress(data: Uint8Array): Uint8Array {
    this.d.push(data, false);
    this.d.flush(true);
    const out = concat(this.chunks, this.total);
    this.chunks = [];
    this.total = 0;
    return out;
  }
  close(): void {}
}

class FflateDecompressor implements Decompressor {
  private chunks: Uint8Array[] = [];
  private total = 0;
  private limit = Infinity;
  private readonly i: Inflate;
  constructor() {
    this.i = new Inflate((chunk) => {
      this.total += chunk.length;
      if (this.total > this.limit) throw new MessageTooBigError("message over the size limit after decompression");
      this.chunks.push(chunk);
    });
  }
  decompress(data: Uint8Array, maxOutput: number): Uint8Array {
    this.limit = maxOutput;
    this.chunks = [];
    this.total = 0;
    this.i.push(data, false);
    return concat(this.chunks, this.total);
  }
  close(): void {}
}

export const fflateEngine: DeflateEngine = {
  name: "fflate",
  supportsWindowBits: (bits) => bits === 15,
  compressor: (settings) => new FflateCompressor(settings),
  decompressor: () => new FflateDecompressor(),
};
