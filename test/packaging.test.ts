// One copy of each module per process (issue 15): real processes load the package through its
// exports (dist/, so `npm run build` first) and report what their entries share.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { RUNTIMES } from "./helpers/runtimes.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
const run = (cmd: string[], file: string) => JSON.parse(execFileSync(cmd[0]!, [...cmd.slice(1), join(FIXTURES, file)], { encoding: "utf8", timeout: 30_000 }));
const ALL_SAME = { Connection: true, WebSocketError: true, ProtocolError: true, FrameScanner: true, DeflateCodec: true, WhatwgWebSocket: true, useBackend: true, backendInfo: true };

describe("one copy per process", () => {
  it("node: wasmsocket, wasmsocket/node and their CommonJS forms share every class and one core", () => {
    const r = run(RUNTIMES.node!, "one-copy.mjs");
    expect(r.same).toEqual(ALL_SAME);
    expect(r.before).toBe("wasm-simd");
    expect(r.after).toEqual({ core: "js", entry: "js", cjsCore: "js", cjsNode: "js" });
    expect(r.restored).toEqual({ core: "wasm-simd", entry: "wasm-simd", cjsCore: "wasm-simd", cjsNode: "wasm-simd" });
    expect(r.instanceofAcross).toBe(true);
  });

  it("node: require('wasmsocket/node') (and require('wasmsocket')) is the WebSocket class with every named export on it", () => {
    const r = run(RUNTIMES.node!, "one-copy.mjs");
    expect(r.cjsNode).toEqual({ isClass: true, statics: [0, 1, 2, 3], named: true, server: true, cjsCoreIsNode: true, esmCoreIsNode: true });
  });

  it("node without require(esm): the CommonJS mirror gives wasmsocket and wasmsocket/node as one copy", () => {
    expect(run(RUNTIMES.node!, "one-copy-fallback.cjs")).toEqual({ same: true, seen: "js", restored: "wasm-simd", server: "function", mirror: true });
  });

  for (const runtime of ["deno", "bun"]) {
    it(`${runtime}: wasmsocket and wasmsocket/${runtime} share every class and one core`, () => {
      const r = run(RUNTIMES[runtime]!, "one-copy.mjs");
      expect(r.same).toEqual(ALL_SAME);
      expect(r.after).toEqual({ core: "js", entry: "js" });
      expect(r.restored).toEqual({ core: "wasm-simd", entry: "wasm-simd" });
    });
  }
});
