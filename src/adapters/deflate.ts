// The deflate engine of the runtime adapters (Node, Deno, Bun), from one place: node:zlib where its
// internals are usable (Node, Deno and Bun today), pako otherwise.
import { nodeDeflateEngine } from "./node/zlib-engine.js";
import type { DeflateEngine } from "../protocol/extensions/deflate-engine.js";

export const defaultDeflateEngine: DeflateEngine = nodeDeflateEngine;
export { nodeDeflateEngine };
