#!/usr/bin/env node
// Before/after for one client change: two builds of this library, run alternately (a, b, a, b…)
// against the same Bun.serve echo, one client process per run; prints each run and the medians.
// Keep a build before changing anything (`cp -r dist build/dist-before`), then `npm run build`:
//   node bench/client/ab.mjs --a build/dist-before --b dist [--impl wasmsocket-node] [--workload 32B|4KiB|1MiB] [--runs 5] [--seconds 3]
// Runtimes other than Node: --runtime bun|deno with --impl wasmsocket-bun|wasmsocket-deno. Keep
// the builds inside this directory tree (their imports resolve from node_modules here).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { opt, workloads } from "./workloads.mjs";
import { denoBinary } from "../lib/tools.mjs";

const root = new URL("../../", import.meta.url).pathname;
const [size, type, inflight] = workloads[opt("workload", "32B")];
const runs = Number(opt("runs", 5));
const builds = { a: resolve(opt("a", "build/dist-before")), b: resolve(opt("b", "dist")) };
const runtime = opt("runtime", "node");
const deno = denoBinary(root);
const exe = { node: [process.execPath], bun: [`${root}node_modules/.bin/bun`], deno: [deno, "run", "-A"] }[runtime];

const port = await new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const server = spawn(`${root}node_modules/.bin/bun`, ["bench/e2e/bun-native.mjs", "--port", String(port)], { cwd: root, env: { ...process.env, NO_DEFLATE: "1" }, stdio: ["ignore", "pipe", "inherit"] });
await new Promise((r) => server.stdout.on("data", (d) => String(d).includes("listening") && r()));
const got = { a: [], b: [] };
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
try {
  for (let r = 0; r < runs; r++) {
    for (const k of r % 2 ? ["b", "a"] : ["a", "b"]) {
      const out = execFileSync(exe[0], [...exe.slice(1), "bench/client/client.mjs", "--impl", opt("impl", "wasmsocket-node"), "--dist", builds[k], "--port", String(port), "--size", String(size), "--type", type, "--inflight", String(inflight), "--seconds", opt("seconds", "3"), "--server-pid", String(server.pid)], { cwd: root });
      const x = JSON.parse(out.toString().trim().split("\n").pop());
      got[k].push(x);
      console.log(`${k} run ${r + 1}: ${(x.msgsPerSec / 1e3).toFixed(1)} k msg/s, client ${x.clientCpuUsPerMsg.toFixed(3)} µs CPU/msg, server ${x.serverCpuUsPerMsg.toFixed(3)} µs/msg`);
    }
  }
} finally {
  server.kill();
}
for (const k of ["a", "b"]) {
  const cpu = got[k].map((x) => x.clientCpuUsPerMsg);
  console.log(`${k} (${builds[k]}): median ${(median(got[k].map((x) => x.msgsPerSec)) / 1e3).toFixed(1)} k msg/s, client ${median(cpu).toFixed(3)} µs CPU/msg (${Math.min(...cpu).toFixed(3)}–${Math.max(...cpu).toFixed(3)})`);
}
