// The shape of src/, checked: layers only point down (core ← protocol ← adapters ← entries), the
// sans-I/O layers use no runtime module and look for no runtime global, no import cycles, and no
// module over 350 lines without a reason stated at its top.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { builtinModules } from "node:module";
import { describe, expect, it } from "vitest";

const SRC = resolve(__dirname, "../src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

const files = sources(SRC);
const rel = (p: string) => relative(SRC, p).replaceAll("\\", "/");
/** Static imports and re-exports (type-only ones too: they still tie modules together). */
function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const text = readFileSync(file, "utf8");
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\bfrom\s+"([^"]+)"/gms)) out.push({ spec: m[3]!, typeOnly: !!m[2] });
  for (const m of text.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}
function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return rel(resolve(dirname(from), spec.replace(/\.js$/, ".ts")));
}
const graph = new Map(files.map((f) => [rel(f), importsOf(f)]));
const layerOf = (m: string) => (m.startsWith("core/") ? 0 : m.startsWith("protocol/") ? 1 : m.startsWith("adapters/") ? 2 : 3);

describe("src/ structure", () => {
  it("finds the modules and their imports (the checks below see something)", () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get("protocol/connection.ts")!.some((i) => i.spec === "./inbound.js")).toBe(true);
  });

  it("layers only import from their own layer or below", () => {
    const upward: string[] = [];
    for (const [m, imports] of graph) {
      for (const { spec } of imports) {
        const target = resolveLocal(join(SRC, m), spec);
        if (target && layerOf(target) > layerOf(m)) upward.push(`${m} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("core and protocol use no runtime module and sniff no runtime global", () => {
    const found: string[] = [];
    for (const [m, imports] of graph) {
      if (layerOf(m) > 1) continue;
      // Libraries (pako) are fine; runtime modules are not.
      for (const { spec } of imports) if (spec.startsWith("node:") || builtinModules.includes(spec)) found.push(`${m} imports ${spec}`);
      const text = readFileSync(join(SRC, m), "utf8");
      for (const g of [/\bBuffer\b/, /\bDate\.now\b/, /\bperformance\.now\b/, /\bprocess\./, /\bDeno\./, /\bBun\./, /\bsetTimeout\b/, /\bnavigator\./]) {
        if (g.test(text.replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, ""))) found.push(`${m} uses ${g.source}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (m: string) => {
      state.set(m, 1);
      stack.push(m);
      for (const { spec } of graph.get(m) ?? []) {
        const t = resolveLocal(join(SRC, m), spec);
        if (!t || !graph.has(t)) continue;
        if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t].join(" → "));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(m, 2);
    };
    for (const m of graph.keys()) if (!state.has(m)) visit(m);
    expect(cycles).toEqual([]);
  });

  it("keeps modules to 350 lines, or says at the top why one is longer", () => {
    const long: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const lines = text.split("\n").length;
      if (lines <= 350 || f.endsWith(".generated.ts")) continue;
      const head = text.split("\n").slice(0, 12).join("\n");
      if (!/350 lines/.test(head)) long.push(`${rel(f)}: ${lines} lines`);
    }
    expect(long).toEqual([]);
  });
});
