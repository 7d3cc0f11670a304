#!/usr/bin/env node
// Where a Node client spends its CPU under one bench:client workload: runs bench/client/client.mjs
// with --cpu-prof against the Bun.serve echo and prints the top functions by self time.
//   node bench/client/profile.mjs [--impl wasmsocket-node|wasmsocket-whatwg|ws|tcp] [--workload 32B|4KiB|1MiB] [--seconds 4] [--top 25]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const root = new URL("../../", import.meta.url).pathname;
const workloads = { "32B": [32, "text", 64], "4KiB": [4096, "binary", 16], "1MiB": [1 << 20, "binary", 2] };
const [size, type, inflight] = workloads[opt("workload", "32B")];
const dir = mkdtempSync(join(tmpdir(), "wsclientprof-"));
const port = await new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const server = spawn(`${root}node_modules/.bin/bun`, ["bench/e2e/bun-native.mjs", "--port", String(port)], { cwd: root, env: { ...process.env, NO_DEFLATE: "1" }, stdio: ["ignore", "pipe", "inherit"] });
await new Promise((r) => server.stdout.on("data", (d) => String(d).includes("listening") && r()));
try {
  const out = execFileSync(process.execPath, ["--cpu-prof", "--cpu-prof-dir", dir, "bench/client/client.mjs", "--impl", opt("impl", "wasmsocket-node"), "--port", String(port), "--size", String(size), "--type", type, "--inflight", String(inflight), "--seconds", opt("seconds", "4"), "--server-pid", String(server.pid)], { cwd: root });
  console.log(out.toString().trim());
} finally {
  server.kill();
}

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
for (const [k, v] of [...self.entries()].filter(([k]) => k !== "(idle) ").sort((a, b) => b[1] - a[1]).slice(0, Number(opt("top", 25)))) {
  console.log(`${((v / (total - idle)) * 100).toFixed(1).padStart(6)} %  ${k}`);
}
