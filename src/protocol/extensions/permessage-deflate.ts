// permessage-deflate (RFC 7692): negotiation for both roles and the per-message codec.
import type { ExtensionNegotiator, MessageCodec } from "./codec.js";
import { HandshakeError, InvalidPayloadError, isWebSocketError } from "../errors.js";
import { encoder } from "../../core/text.js";
import type { Compressor, Decompressor, DeflateEngine } from "./deflate-engine.js";
import { formatExtension, parseExtensions, type ExtensionOffer } from "./header.js";

export const EXTENSION_NAME = "permessage-deflate";

export interface DeflateOptions {
  /** Ask for / agree to a fresh compression context per message on the server side. */
  serverNoContextTakeover?: boolean;
  /** Ask for / agree to a fresh compression context per message on the client side. */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window the server may use (8–15). */
  serverMaxWindowBits?: number;
  /**
   * Client: offer `client_max_window_bits` (true: without a value; a number: with it).
   * Server: the largest window the client may use when the client offered the parameter.
   */
  clientMaxWindowBits?: number | boolean;
  /** zlib compression level (0–9, default 1: fast, most of the gain for chatty JSON). */
  level?: number;
  /** zlib memory level (1–9, default 8). */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
  /** The deflate engine, in place of the one the caller passes (the adapters pass node:zlib where usable, else pako). */
  engine?: DeflateEngine;
}

/** What both sides agreed on. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

function windowBits(v: string | true | undefined, allowBare: boolean): number | undefined | null {
  if (v === undefined) return undefined;
  if (v === true) return allowBare ? 15 : null;
  if (!/^(8|9|1[0-5])$/.test(v)) return null;
  return Number(v);
}

/** Reads one offer or response's parameters; null if any is unknown, repeated or out of range. */
function readParams(offer: ExtensionOffer, isResponse: boolean): (Partial<DeflateParams> & { clientBitsOffered: boolean }) | null {
  const seen = new Set<string>();
  const out: Partial<DeflateParams> & { clientBitsOffered: boolean } = { clientBitsOffered: false };
  for (const [k, v] of offer.params) {
    if (seen.has(k)) return null;
    seen.add(k);
    switch (k) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (v !== true) return null;
        out[k === "server_no_context_takeover" ? "serverNoContextTakeover" : "clientNoContextTakeover"] = true;
        break;
      case "server_max_window_bits": {
        const b = windowBits(v, false);
        if (b == null) return null;
        out.serverMaxWindowBits = b;
        break;
      }
      case "client_max_window_bits": {
        const b = windowBits(v, !isResponse);
        if (b == null) return null;
        out.clientBitsOffered = true;
        if (v !== true) out.clientMaxWindowBits = b;
        break;
      }
      default:
        return null;
    }
  }
  return out;
}

function checkBits(n: number | boolean | undefined, name: string): void {
  if (typeof n === "number" && !(Number.isInteger(n) && n >= 8 && n <= 15)) throw new RangeError(`${name} must be 8–15`);
}

/** Server: picks the first acceptable offer and builds the response; undefined declines them all. */
export function negotiateServer(headerValues: string[], options: DeflateOptions, engine: DeflateEngine): { response: string; params: DeflateParams } | undefined {
  checkBits(options.serverMaxWindowBits, "serverMaxWindowBits");
  checkBits(options.clientMaxWindowBits, "clientMaxWindowBits");
  let offers: ExtensionOffer[];
  try {
    offers = parseExtensions(headerValues);
  } catch {
    return undefined; // a malformed header: decline the extension, keep the connection
  }
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const p = readParams(offer, false);
    if (!p) continue;
    const params: DeflateParams = {
      serverNoContextTakeover: !!(p.serverNoContextTakeover || options.serverNoContextTakeover),
      clientNoContextTakeover: !!(p.clientNoContextTakeover || options.clientNoContextTakeover),
      serverMaxWindowBits: Math.min(p.serverMaxWindowBits ?? 15, options.serverMaxWindowBits ?? 15),
      clientMaxWindowBits: 15,
    };
    if (!engine.supportsWindowBits(params.serverMaxWindowBits)) continue;
    const response: [string, string | true][] = [];
    if (params.serverNoContextTakeover) response.push(["server_no_context_takeover", true]);
    if (params.clientNoContextTakeover) response.push(["client_no_context_takeover", true]);
    if (p.serverMaxWindowBits !== undefined || params.serverMaxWindowBits < 15) response.push(["server_max_window_bits", String(params.serverMaxWindowBits)]);
    if (p.clientBitsOffered) {
      const limit = typeof options.clientMaxWindowBits === "number" ? options.clientMaxWindowBits : 15;
      params.clientMaxWindowBits = Math.min(p.clientMaxWindowBits ?? 15, limit);
      if (params.clientMaxWindowBits < 15 || p.clientMaxWindowBits !== undefined) response.push(["client_max_window_bits", String(params.clientMaxWindowBits)]);
    }
    return { response: formatExtension(EXTENSION_NAME, response), params };
  }
  return undefined;
}

/** Client: the offer to send. */
export function clientOffer(options: DeflateOptions, engine: DeflateEngine): string {
  checkBits(options.serverMaxWindowBits, "serverMaxWindowBits");
  checkBits(options.clientMaxWindowBits, "clientMaxWindowBits");
  const params: [string, string | true][] = [];
  if (options.serverNoContextTakeover) params.push(["server_no_context_takeover", true]);
  if (options.clientNoContextTakeover) params.push(["client_no_context_takeover", true]);
  if (options.serverMaxWindowBits !== undefined) params.push(["server_max_window_bits", String(options.serverMaxWindowBits)]);
  const cb = options.clientMaxWindowBits ?? (engine.supportsWindowBits(8) ? true : undefined);
  if (typeof cb === "number") params.push(["client_max_window_bits", String(cb)]);
  else if (cb === true) params.push(["client_max_window_bits", true]);
  return formatExtension(EXTENSION_NAME, params);
}

/** Client: checks the server's response against our offer (RFC 7692 §5–7); throws if invalid. */
export function validateDeflateResponse(responseValue: string, options: DeflateOptions, engine: DeflateEngine): DeflateParams | undefined {
  if (!responseValue) return undefined;
  let list: ExtensionOffer[];
  try {
    list = parseExtensions([responseValue]);
  } catch (e) {
    throw new HandshakeError(`invalid Sec-WebSocket-Extensions: ${(e as Error).message}`, 502, "WS_ERR_BAD_EXTENSIONS");
  }
  if (list.length !== 1 || list[0]!.name !== EXTENSION_NAME) throw new HandshakeError("server accepted an extension we did not offer", 502, "WS_ERR_BAD_EXTENSIONS");
  const p = readParams(list[0]!, true);
  if (!p) throw new HandshakeError("invalid permessage-deflate parameters in the response", 502, "WS_ERR_BAD_EXTENSIONS");
  const offeredClientBits = options.clientMaxWindowBits ?? (engine.supportsWindowBits(8) ? true : undefined);
  if (p.clientBitsOffered && offeredClientBits === undefined) throw new HandshakeError("server set client_max_window_bits, which we did not offer", 502, "WS_ERR_BAD_EXTENSIONS");
  if (typeof offeredClientBits === "number" && (p.clientMaxWindowBits ?? 15) > offeredClientBits) throw new HandshakeError("client_max_window_bits above our offer", 502, "WS_ERR_BAD_EXTENSIONS");
  if (options.serverMaxWindowBits !== undefined && (p.serverMaxWindowBits ?? 15) > options.serverMaxWindowBits) throw new HandshakeError("server_max_window_bits above our offer", 502, "WS_ERR_BAD_EXTENSIONS");
  if (options.serverNoContextTakeover && !p.serverNoContextTakeover) throw new HandshakeError("server ignored server_no_context_takeover", 502, "WS_ERR_BAD_EXTENSIONS");
  const clientBits = p.clientMaxWindowBits ?? (typeof offeredClientBits === "number" ? offeredClientBits : 15);
  if (!engine.supportsWindowBits(clientBits)) throw new HandshakeError(`cannot compress with a ${clientBits}-bit window here`, 502, "WS_ERR_BAD_EXTENSIONS");
  return {
    serverNoContextTakeover: !!p.serverNoContextTakeover,
    clientNoContextTakeover: !!(p.clientNoContextTakeover || options.clientNoContextTakeover),
    serverMaxWindowBits: p.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: clientBits,
  };
}

const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** Strings up to this size are encoded into one reused buffer: the compressor copies them at once. */
const ENCODE_SCRATCH_MAX = 1 << 20;
let encodeScratch = new Uint8Array(0);

/** UTF-8 bytes of `s`, valid until the next call (compress() consumes them synchronously). */
function encodeForCompression(s: string): Uint8Array {
  const most = s.length * 3;
  if (most > ENCODE_SCRATCH_MAX) return encoder.encode(s);
  if (encodeScratch.length < most) encodeScratch = new Uint8Array(Math.max(most, 4096));
  return encodeScratch.subarray(0, encoder.encodeInto(s, encodeScratch).written);
}

/** Compresses and inflates messages per the agreed parameters, for one side of a connection. */
export class DeflateCodec implements MessageCodec {
  #compressor: Compressor | undefined;
  #decompressor: Decompressor | undefined;
  readonly #ownNoContext: boolean;
  readonly #peerNoContext: boolean;
  readonly #ownBits: number;
  readonly #threshold: number;

  readonly #options: DeflateOptions;
  readonly #engine: DeflateEngine;
  /** Without our own context takeover, the output depends only on these settings (MessageCodec). */
  readonly sharedKey: string | undefined;

  constructor(
    readonly params: DeflateParams,
    role: "server" | "client",
    options: DeflateOptions,
    engine: DeflateEngine,
  ) {
    this.#options = options;
    this.#engine = engine;
    const server = role === "server";
    this.#ownNoContext = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.#peerNoContext = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.#ownBits = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.#threshold = options.threshold ?? 1024;
    this.sharedKey = this.#ownNoContext ? `${engine.name}:${this.#ownBits}:${options.level ?? 1}:${options.memLevel ?? 8}:${this.#threshold}` : undefined;
  }

  encode(data: Uint8Array | string): Uint8Array | undefined {
    const bytes = typeof data === "string" ? (data.length * 3 < this.#threshold ? undefined : encodeForCompression(data)) : data;
    if (!bytes || bytes.length < this.#threshold || !this.#engine.compressor) return undefined;
    this.#compressor ??= this.#engine.compressor({ windowBits: this.#ownBits, level: this.#options.level ?? 1, memLevel: this.#options.memLevel ?? 8 });
    let out = this.#compressor.compress(bytes);
    if (this.#ownNoContext) {
      this.#compressor.close();
      this.#compressor = undefined;
    }
    // A sync flush ends in an empty stored block, 00 00 ff ff: the receiver puts it back (§7.2.1).
    const n = out.length;
    if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff) out = out.subarray(0, n - 4);
    return out;
  }

  decode(data: Uint8Array, maxSize: number): Uint8Array {
    // Inflating with the largest window reads any smaller one, so the peer's bits need no care here.
    this.#decompressor ??= this.#engine.decompressor(15);
    const input = new Uint8Array(data.length + 4);
    input.set(data);
    input.set(TAIL, data.length);
    try {
      const out = this.#decompressor.decompress(input, maxSize);
      if (this.#peerNoContext) this.#closeDecompressor();
      return out;
    } catch (e) {
      this.#closeDecompressor();
      // The engine's own errors keep their close code (1009 for a bomb), whatever bundle it came from.
      if (isWebSocketError(e)) throw e;
      const err = new InvalidPayloadError(`invalid compressed data: ${(e as Error).message}`, "WS_ERR_INVALID_COMPRESSED_DATA");
      (err as { cause?: unknown }).cause = e; // the engine's own error (zlib's Z_DATA_ERROR...)
      throw err;
    }
  }

  #closeDecompressor(): void {
    this.#decompressor?.close();
    this.#decompressor = undefined;
  }

  close(): void {
    this.#compressor?.close();
    this.#closeDecompressor();
    this.#compressor = undefined;
  }
}

/** Server side in one call: the `accept()` options for a request's extension offers, if any fit. */
export function deflateForServer(extensionHeaders: string[], options: DeflateOptions, fallbackEngine: DeflateEngine): { extensions: string; codec: DeflateCodec } | undefined {
  const engine = options.engine ?? fallbackEngine;
  const agreed = negotiateServer(extensionHeaders, options, engine);
  if (!agreed) return undefined;
  return { extensions: agreed.response, codec: new DeflateCodec(agreed.params, "server", options, engine) };
}

/** Client side: what to offer and how to take the server's answer (for Connection.client). */
export function deflateForClient(options: DeflateOptions, fallbackEngine: DeflateEngine): ExtensionNegotiator {
  const engine = options.engine ?? fallbackEngine;
  return {
    offer: clientOffer(options, engine),
    accept(response: string) {
      const params = validateDeflateResponse(response, options, engine);
      return params && new DeflateCodec(params, "client", options, engine);
    },
  };
}
