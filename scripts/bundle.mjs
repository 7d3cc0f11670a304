// Builds the bundles: ESM + CJS for Node (core and node entry points) and an ESM browser bundle.
// The WASM core is already inlined into src/core/wasm-binary.generated.ts.
import { build } from "esbuild";

const common = { bundle: true, sourcemap: true, target: "es2022", logLevel: "warning" };
await Promise.all([
  build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js", format: "esm", platform: "neutral" }),
  build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.cjs", format: "cjs", platform: "neutral" }),
  build({ ...common, entryPoints: ["src/node.ts"], outfile: "dist/node.js", format: "esm", platform: "node" }),
  build({ ...common, entryPoints: ["src/node.ts"], outfile: "dist/node.cjs", format: "cjs", platform: "node" }),
  build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/browser.js", format: "esm", platform: "browser", minify: true }),
  // Deno and Bun: ESM, with node:zlib left to the runtime's own implementation.
  build({ ...common, entryPoints: ["src/deno.ts"], outfile: "dist/deno.js", format: "esm", platform: "neutral", external: ["node:*"] }),
  build({ ...common, entryPoints: ["src/bun.ts"], outfile: "dist/bun.js", format: "esm", platform: "neutral", external: ["node:*"] }),
]);
console.log("bundles written to dist/");
