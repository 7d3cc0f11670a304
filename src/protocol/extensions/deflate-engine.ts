// The raw-deflate engines permessage-deflate runs on. Both work synchronously, so the sans-I/O
// connection stays synchronous and message order is preserved by construction.

export interface DeflateSettings {
  windowBits: number;
  level: number;
  memLevel: number;
}

export interface Compressor {
  /** Compresses `data` and ends with a sync flush (the output ends in 00 00 ff ff). */
  compress(data: Uint8Array): Uint8Array;
  close(): void;
}

export interface Decompressor {
  /** Inflates `data`; throws MessageTooBigError past `maxOutput` bytes, another error on bad data. */
  decompress(data: Uint8Array, maxOutput: number): Uint8Array;
  close(): void;
}

export interface DeflateEngine {
  readonly name: string;
  /** Whether this engine can compress with a window of `bits` (8–15). */
  supportsWindowBits(bits: number): boolean;
  /** Absent where the engine only inflates: messages are then sent uncompressed (always allowed). */
  compressor?(settings: DeflateSettings): Compressor;
  decompressor(windowBits: number): Decompressor;
}
