// Builds dist/ so that each module exists once per process (issue 15):
//   dist/{index,node,deno,bun}.js, dist/*/**.js       ESM, one file per source file: every class,
//                                                     and the WASM core, lives in one module
//   dist/{index,node}.cjs                             CommonJS entries. Where Node has require(esm)
//                                                     (20.19+, 22.12+) they require the ESM files
//                                                     above: ESM and CJS are then the same modules.
//                                                     Elsewhere they load dist/cjs/, a CommonJS
//                                                     mirror of the same files (one copy for
//                                                     all CJS entries; a second one only if ESM is
//                                                     loaded too; see README "One copy per process")
//   dist/node.cjs                                     returns the WebSocket class itself, with every
//                                                     named export of the node entry on it (as ws)
//   dist/browser.js                                   one self-contained minified file for <script
//                                                     type=module> (the example page), pako inlined
// pako stays an external import in the package's own files (it is a runtime dependency), and so
// does redis (an optional peer dependency, imported by RedisBroker only when it connects).
// The WASM core is already inlined into src/core/wasm-binary.generated.ts.
import { build } from "esbuild";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

const OUT = "dist";
rmSync(OUT, { recursive: true, force: true });

const common = { bundle: true, sourcemap: true, target: "es2022", logLevel: "warning" };
// ESM, one output file per source file (no bundling): `wasmsocket` and `wasmsocket/node` import the
// same modules, so one Connection, one WebSocketError, one WASM instance; and a bundler that builds
// an app from the package drops whole unused files (with pako behind pako-engine.js).
const sources = [...walk("src")].filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
await build({
  ...common,
  bundle: false,
  entryPoints: sources,
  outdir: OUT,
  outbase: "src",
  format: "esm",
  platform: "neutral",
});

// Each runtime's entry is one bundled file holding everything that runtime runs (the core included:
// it re-exports it), and the package root resolves to it there ("node"/"deno"/"bun" conditions), so
// a process still holds one copy of each module. Measured (4 KiB echo, 2026-12-02): run from the
// per-file modules, a Node server allocated ~45 % more per message (625 vs 430 bytes: 173 larger
// scavenges against 235) and peaked ~17 MB higher in RSS (92 vs 75 MB) than the same code bundled.
// The per-file modules stay for bundlers building browser apps (they drop whole unused files).
await Promise.all(
  ["node", "deno", "bun"].map((name) =>
    build({
      ...common,
      entryPoints: [`src/${name}.ts`],
      outfile: join(OUT, `${name}.js`),
      format: "esm",
      platform: name === "node" ? "node" : "neutral",
      external: ["pako", "redis", "node:*"],
      allowOverwrite: true,
    }),
  ),
);

// The CommonJS mirror for runtimes without require(esm): every ESM file of the split build turned
// into a .cjs file that requires the others, so its entries share one copy too.
const esmFiles = [...walk(OUT)].filter((f) => f.endsWith(".js"));
await build({
  ...common,
  sourcemap: false,
  entryPoints: esmFiles,
  outdir: join(OUT, "cjs"),
  outbase: OUT,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  platform: "node",
  plugins: [
    {
      name: "keep-files-apart",
      setup(b) {
        // Entry points are converted; everything they import stays a require() of its own file.
        b.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === "entry-point") return undefined;
          if (args.path.startsWith(".")) return { path: args.path.replace(/\.js$/, ".cjs"), external: true };
          return { path: args.path, external: true };
        });
      },
    },
  ],
});

// The CommonJS entries. `process.features.require_module` is true where require() loads ES modules.
const pick = (name) =>
  `const esm = typeof process === "object" && process.features && process.features.require_module === true;\n` +
  `const m = esm ? require("./${name}.js") : require("./cjs/${name}.cjs");\n`;
writeFileSync(join(OUT, "index.cjs"), `"use strict";\n// wasmsocket (CommonJS): the ESM build where require(esm) works, else dist/cjs.\n${pick("index")}module.exports = m;\n`);
writeFileSync(
  join(OUT, "node.cjs"),
  `"use strict";
// wasmsocket/node (CommonJS): like require("ws"), the WebSocket class itself, with every named
// export of the node entry as a property (names the class already has, e.g. OPEN, are kept).
${pick("node")}const WebSocket = m.default !== undefined ? m.default : m.WebSocket;
for (const name of Object.keys(m)) {
  if (name === "default" || name === "__esModule" || name in WebSocket) continue;
  Object.defineProperty(WebSocket, name, { value: m[name], enumerable: true, writable: true, configurable: true });
}
module.exports = WebSocket;
`,
);

// The self-contained browser file (pako inlined): served by examples/start.mjs.
await build({ ...common, entryPoints: ["src/index.ts"], outfile: join(OUT, "browser.js"), format: "esm", platform: "browser", minify: true });
console.log("bundles written to dist/");
