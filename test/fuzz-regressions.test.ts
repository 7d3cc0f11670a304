// Replays every input `npm run fuzz` ever saved, against its target (file name prefix), plus a
// short fuzz of each target in the normal run.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { targets } from "../scripts/fuzz-targets.js";

const dir = join(import.meta.dirname, "fuzz-regressions");
const saved = readdirSync(dir).filter((f) => f.endsWith(".bin"));

describe("fuzz targets", () => {
  it.each(Object.keys(targets))("%s: random input never throws", (name) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 800 }), (input) => targets[name]!(input)), { numRuns: 300 });
  });
  it.each(saved.length ? saved : ["(none saved yet)"])("regression %s", (file) => {
    if (!file.endsWith(".bin")) return;
    const target = targets[file.split("-")[0]!]!;
    expect(() => target(new Uint8Array(readFileSync(join(dir, file))))).not.toThrow();
  });
});
