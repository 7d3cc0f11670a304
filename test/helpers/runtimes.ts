// How tests start Node, Deno and Bun: the command line for each runtime.
import { join } from "node:path";
import { existsSync, readdirSync } from "node:fs";

const ROOT = join(import.meta.dirname, "../..");
// The real Deno binary: the npm bin is a Node wrapper, and killing the wrapper would leave Deno running.
const denoBinaries = [join(ROOT, "node_modules/deno/deno"), ...(existsSync(join(ROOT, "node_modules/@deno")) ? readdirSync(join(ROOT, "node_modules/@deno")).map((d) => join(ROOT, "node_modules/@deno", d, "deno")) : [])];
export const RUNTIMES: Record<string, string[]> = {
  node: [process.execPath],
  deno: [denoBinaries.find((p) => existsSync(p)) ?? join(ROOT, "node_modules/.bin/deno"), "run", "-A"],
  bun: [join(ROOT, "node_modules/.bin/bun")],
};
