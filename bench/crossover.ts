// Where the plain-JS path and the core path cross for small inputs (SMALL_MASK / SMALL_UTF8 in
// src/core/api.ts). Run: npm run bench:crossover
import { Bench } from "tinybench";
import { core } from "../src/core/select.js";
import { arenaOf } from "../src/core/arena.js";
import { validateJs } from "../src/core/api.js";

const b = core();
const { inputPtr } = arenaOf(b);
const key = Uint8Array.of(1, 2, 3, 4);
for (const n of [16, 32, 48, 64, 96, 128, 256]) {
  const data = new Uint8Array(n).fill(0x61);
  const bench = new Bench({ time: 200 });
  bench.add("mask: JS loop", () => {
    for (let i = 0; i < n; i++) data[i]! ^= key[i & 3]!;
  });
  bench.add("mask: core", () => {
    b.bytes.set(data, inputPtr);
    b.maskInPlace(inputPtr, n, 0x04030201, 0);
    data.set(b.bytes.subarray(inputPtr, inputPtr + n));
  });
  bench.add("utf8: JS DFA", () => validateJs(data, 0));
  bench.add("utf8: core", () => {
    b.bytes.set(data, inputPtr);
    return b.utf8Validate(inputPtr, n, 0, false, 0, 0);
  });
  await bench.run();
  console.log(`${String(n).padStart(4)} B  ` + bench.tasks.map((t) => `${t.name} ${(((t.result as { latency?: { mean: number } }).latency?.mean ?? NaN) * 1e6).toFixed(0)} ns`).join("  |  "));
}
