// The names src/deno.ts and src/bun.ts (and older imports) use, until they import from
// ../deflate.js and ../zlib-engine.js; no code of its own (the engine is chosen in ../deflate.js).
export { zlibEngine, zlibEngineAvailable } from "../zlib-engine.js";
export { defaultDeflateEngine as nodeDeflateEngine } from "../deflate.js";
