// What the benchmark harnesses share: the real Deno binary, and building a C load generator.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

/** The real Deno binary (node_modules/.bin/deno is a Node wrapper: its CPU would not be Deno's). */
export function denoBinary(root) {
  const candidates = [`${root}node_modules/deno/deno`, ...(existsSync(`${root}node_modules/@deno`) ? readdirSync(`${root}node_modules/@deno`).map((d) => `${root}node_modules/@deno/${d}/deno`) : [])];
  return candidates.find((p) => existsSync(p)) ?? `${root}node_modules/.bin/deno`;
}

/** Compiles `source` to `out` with zlib where the C compiler has it; returns whether it did. */
export function buildWithZlib(source, out, without) {
  try {
    execFileSync("cc", ["-O2", "-DHAVE_ZLIB", "-o", out, source, "-lz"], { stdio: ["ignore", "ignore", "pipe"] });
    return true;
  } catch {
    console.log(`no zlib for the C compiler (apt-get install zlib1g-dev): ${without}`);
    execFileSync("cc", ["-O2", "-o", out, source]);
    return false;
  }
}
