// What a connection can be told, its defaults, and the resolved form the parts of a connection read.
import type { Clock } from "./events.js";
import { webText, type TextCodec } from "../core/text.js";
import { DEFAULT_LIMITS, MAX_SIZE_LIMIT } from "./limits.js";
import type { ExtensionNegotiator } from "./extensions/codec.js";

/**
 * Makes received binary messages; `owned` bytes may be wrapped instead of copied: made for this
 * message, or a read given away with receive(bytes, true), where other messages of the same read
 * are views of the same buffer, so wrap only [start, end) and never transfer or detach it.
 */
export type BinaryFactory = (source: Uint8Array, start: number, end: number, owned: boolean) => Uint8Array;

export interface ConnectionOptions {
  /** Largest frame payload accepted (default 64 MiB). */
  maxFrameSize?: number;
  /** Largest message accepted, fragments added up, after decompression (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest number of frames in one message (default 2^20). */
  maxFragments?: number;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /**
   * Deliver text messages as their (validated) UTF-8 bytes instead of strings, with `binary: false`.
   * Decoding non-ASCII UTF-8 into a JS string runs at ~0.6 GB/s in V8: skip it when you forward bytes.
   */
  textAsBytes?: boolean;
  /**
   * Do not check that text messages and close reasons are valid UTF-8 (ws's option; default false).
   * Only for peers you trust: invalid text then reaches the application as it came.
   */
  skipUTF8Validation?: boolean;
  /** Deliver data messages as `fragment` events as they arrive instead of whole `message`s. */
  fragments?: boolean;
  /** Split outgoing messages into frames of at most this many bytes (default: never split). */
  fragmentSize?: number;
  /** Time allowed for the opening handshake, ms (default 10 s; 0 = none). Needs a clock. */
  handshakeTimeout?: number;
  /** Time allowed for the close handshake, ms (default 5 s). Needs a clock. */
  closeTimeout?: number;
  /** Send a ping after this long without receiving anything, ms (0 = never, the default). Needs a clock. */
  pingInterval?: number;
  /** Fail the connection if nothing arrives this long after a keepalive ping, ms (default 30 s). */
  pongTimeout?: number;
  /** Close (1001) after this long without receiving anything, ms (0 = never, the default). Needs a clock. */
  idleTimeout?: number;
  /** Handshake head limits. */
  maxHandshakeBytes?: number;
  maxHeaders?: number;
  /** Makes received binary messages (default: Uint8Array). Node adapters make Buffers. */
  createBinary?: BinaryFactory;
  /**
   * The time source deadlines are measured on (ms). The connection reads no clock of its own: the
   * driver that runs it gives it the system clock (Connection.useClock); one driven by hand without
   * a clock has no deadlines (nextDeadline() is undefined).
   */
  clock?: Clock;
  /** String ⇄ UTF-8 conversions (default: TextEncoder/TextDecoder; the Node, Deno and Bun adapters pass Buffer's). */
  text?: TextCodec;
  /** Makes a buffer the caller fills entirely before anyone reads it (default `new Uint8Array(n)`; adapters may skip the zeroing). */
  allocate?: (n: number) => Uint8Array;
  /** Client role: the extension offer and the check of the server's answer (permessage-deflate). */
  negotiator?: ExtensionNegotiator;
}

/** The options every part of a connection reads, with defaults applied. */
export interface Settings {
  maxFrameSize: number;
  maxMessageSize: number;
  maxFragments: number;
  autoPong: boolean;
  textAsBytes: boolean;
  skipUTF8Validation: boolean;
  fragments: boolean;
  fragmentSize: number;
  handshakeTimeout: number;
  closeTimeout: number;
  pingInterval: number;
  pongTimeout: number;
  idleTimeout: number;
  maxHandshakeBytes: number;
  maxHeaders: number;
  createBinary: BinaryFactory;
  text: TextCodec;
  allocate: (n: number) => Uint8Array;
}

/** Plain Uint8Arrays whatever the source (a Node Buffer from zlib is re-viewed, not copied). */
const plainBinary: BinaryFactory = (s, a, b, owned) =>
  owned ? new Uint8Array(s.buffer, s.byteOffset + a, b - a) : Uint8Array.prototype.slice.call(s, a, b);
const zeroed = (n: number) => new Uint8Array(n);

function clampLimit(n: number | undefined, dflt: number): number {
  return Math.min(Math.max(0, n ?? dflt), MAX_SIZE_LIMIT);
}

/** Settings by the options object they were resolved from: connections sharing options share them. */
const resolved = new WeakMap<ConnectionOptions, Settings>();

/** The options with defaults applied; the same object for the same options object (read-only to all). */
export function resolveSettings(options: ConnectionOptions): Settings {
  let s = resolved.get(options);
  if (!s) resolved.set(options, (s = settingsOf(options)));
  return s;
}

function settingsOf(options: ConnectionOptions): Settings {
  return {
    maxFrameSize: clampLimit(options.maxFrameSize, DEFAULT_LIMITS.maxFrameSize),
    maxMessageSize: clampLimit(options.maxMessageSize, DEFAULT_LIMITS.maxMessageSize),
    maxFragments: options.maxFragments ?? DEFAULT_LIMITS.maxFragments,
    autoPong: options.autoPong ?? true,
    textAsBytes: options.textAsBytes ?? false,
    skipUTF8Validation: options.skipUTF8Validation ?? false,
    fragments: options.fragments ?? false,
    fragmentSize: options.fragmentSize ?? 0,
    handshakeTimeout: options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout,
    closeTimeout: options.closeTimeout ?? DEFAULT_LIMITS.closeTimeout,
    pingInterval: options.pingInterval ?? 0,
    pongTimeout: options.pongTimeout ?? 30_000,
    idleTimeout: options.idleTimeout ?? 0,
    maxHandshakeBytes: options.maxHandshakeBytes ?? DEFAULT_LIMITS.maxHandshakeBytes,
    maxHeaders: options.maxHeaders ?? DEFAULT_LIMITS.maxHeaders,
    createBinary: options.createBinary ?? plainBinary,
    text: options.text ?? webText,
    allocate: options.allocate ?? zeroed,
  };
}
