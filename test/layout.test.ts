// The scanner's memory layout is defined once, in assembly/layout.ts; src/core/layout.generated.ts
// is rendered from it by scripts/gen-layout.mjs at build and committed. These tests fail when the
// committed file is stale, when the generator would skip or garble a declaration, and when the
// built WASM module disagrees with the TypeScript side on a constant it exports.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { renderLayout, SOURCE, TARGET } from "../scripts/gen-layout.mjs";
import * as L from "../src/core/layout.js";
import { wasmBytes } from "../src/core/wasm-backend.js";

const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

describe("generated layout", () => {
  it("src/core/layout.generated.ts is what assembly/layout.ts renders to (run `npm run build:wasm` if not)", () => {
    expect(read(TARGET)).toBe(renderLayout(read(SOURCE)));
  });

  it("carries every constant of assembly/layout.ts: offsets as i32 indices, ERR_* as ScanError", () => {
    const decls = [...read(SOURCE).matchAll(/^export const (\w+): \w+ = ([^;]+);/gm)];
    expect(decls.length).toBeGreaterThan(40);
    const value = new Map<string, number>();
    for (const [, name, expr] of decls) {
      // The source's expressions are plain numbers and `1 << n`.
      const shift = /^(\d+) << (\d+)$/.exec(expr!.trim());
      value.set(name!, shift ? Number(shift[1]) << Number(shift[2]) : Number(expr));
    }
    const ts = L as unknown as Record<string, unknown>;
    for (const [name, v] of value) {
      if (name.startsWith("ERR_")) continue;
      expect(ts[name], name).toBe(/^[SE]_/.test(name) ? v / 4 : v);
    }
    const errors = [...value].filter(([n]) => n.startsWith("ERR_"));
    expect(Object.values(L.ScanError).filter((v) => typeof v === "number")).toEqual(errors.map(([, v]) => v));
    expect(L.ScanError.InvalidUtf8).toBe(value.get("ERR_INVALID_UTF8"));
    expect(L.ScanError.ReservedBits).toBe(value.get("ERR_RESERVED_BITS"));
    expect(L.STATE_FIELDS * 4).toBe(value.get("STATE_SIZE"));
    expect(L.ENTRY_FIELDS * 4).toBe(value.get("ENTRY_SIZE"));
    // The persistent fields run from S_PHASE through S_UTF8; the per-call outputs come after them.
    expect(L.PERSISTENT_FIELDS).toBe(L.S_UTF8 + 1);
    expect(Math.min(L.S_CONSUMED, L.S_COUNT, L.S_ERROR)).toBe(L.PERSISTENT_FIELDS);
  });

  it("agrees with every layout constant the built WASM module exports", () => {
    const m = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes() as BufferSource));
    const ts = L as unknown as Record<string, unknown>;
    const exported = Object.entries(m.exports).filter(([name, g]) => g instanceof WebAssembly.Global && /^(S_|E_|F_|ERR_|CONFIG_|STATE_|ENTRY_)/.test(name));
    expect(exported.length).toBeGreaterThan(0);
    for (const [name, g] of exported) {
      const v = (g as WebAssembly.Global).value as number;
      if (name.startsWith("ERR_")) {
        expect(v, name).toBe((L.ScanError as unknown as Record<string, number>)[renderedMember(name)]);
      } else {
        expect(ts[name], name).toBe(/^[SE]_/.test(name) ? v / 4 : v);
      }
    }
  });

  it("refuses a declaration it does not know instead of skipping it", () => {
    const good = read(SOURCE);
    expect(() => renderLayout(good + "export const S_EXTRA: f64 = 1.5;\n")).toThrow(/not a constant this generator knows/);
    expect(() => renderLayout(good + "export function f(): void {}\n")).toThrow(/not a constant this generator knows/);
    expect(() => renderLayout(good + "export const S_ODD: usize = 66;\n")).toThrow(/not the offset of an i32 field/);
    expect(() => renderLayout(good + "export const F_X: i32 = F_NOPE << 1;\n")).toThrow(/not defined above it/);
    expect(() => renderLayout(good + "export const F_X: i32 = 1 + 2 + globalThis;\n")).toThrow(/not defined above it/);
    expect(() => renderLayout(good + "export const F_FIN: i32 = 1;\n")).toThrow(/defined twice/);
    // A new constant is carried over, in its section.
    expect(renderLayout(good + "export const CONFIG_NEW: i32 = 1 << 3; // a new bit\n")).toContain("/** a new bit */\nexport const CONFIG_NEW = 8;\n");
    expect(renderLayout(good + "export const ERR_NEW_KIND: i32 = 13;\n")).toContain("  NewKind = 13,\n}");
  });
});

/** ERR_INVALID_UTF8 → InvalidUtf8: the generator's naming, restated. */
function renderedMember(name: string): string {
  return name
    .slice(4)
    .split("_")
    .map((w) => w[0] + w.slice(1).toLowerCase())
    .join("");
}
