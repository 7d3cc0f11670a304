// Deflate engine for runtimes without node:zlib (browsers, service workers): fflate, a streaming
// raw inflate in plain JS (DecompressionStream is asynchronous and cannot be bounded mid-message).
// It inflates only: fflate 0.8's sync flush emits broken stored blocks for some inputs (seen here:
// "1b 00 00 00 00 00" where "00 00 ff ff" belongs), so messages we send stay uncompressed, which
// RFC 7692 always permits (RSV1 clear).
import { Inflate } from "fflate";
import { MessageTooBigError } from "../errors.js";
import { concatBytes } from "../../core/bytes.js";
import type { Decompressor, DeflateEngine } from "./deflate-engine.js";

/** fflate's inflate state: `f` is set once a BFINAL block was read, `l` while a block is open. */
type InflateState = { s?: { f?: number; l?: unknown } };

class FflateDecompressor implements Decompressor {
  private chunks: Uint8Array[] = [];
  private total = 0;
  private limit = Infinity;
  private i: Inflate | undefined;
  private onData = (chunk: Uint8Array) => {
    this.total += chunk.length;
    if (this.total > this.limit) throw new MessageTooBigError("message over the size limit after decompression");
    this.chunks.push(chunk);
  };
  decompress(data: Uint8Array, maxOutput: number): Uint8Array {
    this.limit = maxOutput;
    this.chunks = [];
    this.total = 0;
    this.i ??= new Inflate(this.onData);
    this.i.push(data, false);
    // A block with BFINAL set ended the peer's stream (RFC 7692 §7.2.3.3): start afresh next time.
    const st = (this.i as unknown as InflateState).s;
    if (st?.f && !st.l) this.i = undefined;
    return concatBytes(this.chunks, this.total);
  }
  close(): void {}
}

export const fflateEngine: DeflateEngine = {
  name: "fflate",
  supportsWindowBits: () => true, // inflating with a 32 KiB window reads any smaller one
  decompressor: () => new FflateDecompressor(),
};
