// The top functions by self time of the .cpuprofile V8 wrote into `dir` (node --cpu-prof), printed
// as shares of the busy (not idle) time. Shared by the profile scripts of bench/e2e and bench/client.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function printSelfTime(dir, top = 25) {
  const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))), "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const f = byId.get(profile.samples[i]).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").slice(-2).join("/") + ":" + (f.lineNumber + 1) : ""}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = self.get("(idle) ") ?? 0;
  console.log(`\nself time, ${(total / 1e6).toFixed(2)} s sampled (${((idle / total) * 100).toFixed(0)} % idle); share of busy time:`);
  for (const [k, v] of [...self.entries()].filter(([k]) => k !== "(idle) ").sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((v / (total - idle)) * 100).toFixed(1).padStart(6)} %  ${k}`);
  }
}
