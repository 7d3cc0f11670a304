#!/usr/bin/env node
// Where a Node client spends its CPU under one bench:client workload: runs bench/client/client.mjs
// with --cpu-prof against the Bun.serve echo and prints the top functions by self time.
//   node bench/client/profile.mjs [--impl wasmsocket-node|wasmsocket-whatwg|ws|tcp] [--workload 32B|4KiB|1MiB] [--seconds 4] [--top 25]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printSelfTime } from "../lib/cpuprofile.mjs";
import { opt, workloads } from "./workloads.mjs";

const root = new URL("../../", import.meta.url).pathname;
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

printSelfTime(dir, Number(opt("top", 25)));
