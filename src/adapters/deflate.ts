// permessage-deflate as the runtime adapters set it up, in one place: the engine (node:zlib where
// this runtime's node:zlib can be driven synchronously — Node, Deno and Bun — else pako), ws's
// option names mapped onto ours, and the client's offer. Browser-facing modules (overStreams, the
// core) do not import this file: it loads node:zlib. They take an engine as an argument instead.
import type { DeflateEngine } from "../protocol/extensions/deflate-engine.js";
import type { ExtensionNegotiator } from "../protocol/extensions/codec.js";
import { deflateForClient, type DeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { pakoEngine } from "../protocol/extensions/pako-engine.js";
import { zlibEngine, zlibEngineAvailable } from "./zlib-engine.js";

/** node:zlib where usable, pako elsewhere (a runtime whose node:zlib lacks the internals the sync engine drives). */
export const defaultDeflateEngine: DeflateEngine = zlibEngineAvailable() ? zlibEngine : pakoEngine;

/** ws's permessage-deflate options (zlib options map onto our engine's level and memLevel); our own names work too. */
export interface PerMessageDeflateOptions extends Omit<DeflateOptions, "level" | "memLevel"> {
  zlibDeflateOptions?: { level?: number; memLevel?: number; [k: string]: unknown };
  /** Accepted for compatibility; inflation needs no options here. */
  zlibInflateOptions?: Record<string, unknown>;
  /** Accepted for compatibility: our zlib calls are synchronous, so there is nothing to limit. */
  concurrencyLimit?: number;
  level?: number;
  memLevel?: number;
}

/** A `perMessageDeflate` option (true, false/absent, or options in ws's names or ours) as our deflate options; undefined: off. */
export function deflateOptions(o: boolean | PerMessageDeflateOptions | undefined): DeflateOptions | undefined {
  if (!o) return undefined;
  if (o === true) return {};
  const { zlibDeflateOptions, zlibInflateOptions: _i, concurrencyLimit: _c, ...rest } = o;
  return { ...rest, level: rest.level ?? zlibDeflateOptions?.level, memLevel: rest.memLevel ?? zlibDeflateOptions?.memLevel };
}

/**
 * The client's permessage-deflate: what to offer and how to take the server's answer, or undefined
 * when `perMessageDeflate` is off. Every client (Node, Deno, Bun) sets its deflate up with this;
 * each passes its own default for an absent option (true, as in ws).
 */
export function clientNegotiator(perMessageDeflate: boolean | PerMessageDeflateOptions | undefined, engine: DeflateEngine = defaultDeflateEngine): ExtensionNegotiator | undefined {
  const options = deflateOptions(perMessageDeflate);
  return options && deflateForClient(options, engine);
}
