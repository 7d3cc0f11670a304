// Replays the regression corpus (test/fuzz-regressions/*.bin: inputs built by `npm run fuzz:corpus`
// for rules past defects broke, and any input `npm run fuzz` found crashing) against its target
// (the file name's prefix), and compares what happened with the outcome recorded for it in
// expected.json; plus a short fuzz of each target in the normal run.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { targets } from "../scripts/fuzz-targets.js";

const dir = join(import.meta.dirname, "fuzz-regressions");
const saved = readdirSync(dir).filter((f) => f.endsWith(".bin")).sort();
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as Record<string, { why: string; outcome: string[] }>;

describe("fuzz targets", () => {
  it.each(Object.keys(targets))("%s: random input never throws", (name) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 800 }), (input) => void targets[name]!(input)), { numRuns: 300 });
  });
});

describe("regression corpus", () => {
  it("is not empty, covers every target, and every input has a recorded outcome (and every outcome its input)", () => {
    expect(saved.length).toBeGreaterThan(0);
    expect(new Set(saved.map((f) => f.split("-")[0]))).toEqual(new Set(Object.keys(targets)));
    expect(saved.filter((f) => !expected[f]), "inputs without an outcome in expected.json (replay them and record what must happen)").toEqual([]);
    expect(Object.keys(expected).filter((f) => !saved.includes(f)), "outcomes in expected.json without their input").toEqual([]);
  });

  it.each(saved)("%s", (file) => {
    const target = targets[file.split("-")[0]!];
    expect(target, `no fuzz target for ${file}`).toBeDefined();
    const outcome = target!(new Uint8Array(readFileSync(join(dir, file))));
    expect(outcome, expected[file]?.why ?? "no outcome recorded in expected.json").toEqual(expected[file]?.outcome);
  });
});
