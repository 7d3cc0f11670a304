#!/usr/bin/env node
// Where a Node echo server spends its CPU under one e2e workload: runs the server with --cpu-prof,
// drives it with the C load generator, and prints the top functions by self time.
//   node bench/e2e/profile.mjs [--workload 32B|4KiB|1MiB|4KiBz] [--server node|ws|bun|bunnative] [--seconds 4] [--top 25]
// Build the generator first (npm run bench:e2e does; or cc -O2 -DHAVE_ZLIB -o build/loadgen bench/e2e/loadgen.c -lz).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printSelfTime } from "../lib/cpuprofile.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const root = new URL("../../", import.meta.url).pathname;
const workloads = { "32B": [50, 16, 32, "text"], "4KiB": [10, 8, 4096, "binary"], "1MiB": [2, 2, 1 << 20, "binary"], "4KiBz": [10, 8, 4096, "json-deflate"] };
const w = workloads[opt("workload", "4KiBz")];
const which = opt("server", "node");
const script = { node: "examples/echo-server.mjs", ws: "bench/e2e/ws-echo.mjs", bun: "examples/echo-server.mjs", bunnative: "bench/e2e/bun-native.mjs" }[which];
const onBun = which.startsWith("bun");
const seconds = Number(opt("seconds", 4));
const dir = mkdtempSync(join(tmpdir(), "wsprof-"));
const port = await new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });

// SIGINT must end the process normally, or V8 never writes the profile.
const [exe, ...flags] = onBun
  ? [`${root}node_modules/.bin/bun`, "--cpu-prof", `--cpu-prof-dir=${dir}`, "--preload", "./bench/e2e/exit-on-sigint.mjs"]
  : [process.execPath, "--cpu-prof", "--cpu-prof-dir", dir, "--import", "./bench/e2e/exit-on-sigint.mjs"];
const server = spawn(exe, [...flags, script, "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
await new Promise((r) => server.stdout.on("data", (d) => String(d).includes("listening") && r()));
console.log(execFileSync(`${root}build/loadgen`, ["127.0.0.1", String(port), ...w.map(String), String(seconds)]).toString().trim());
server.kill("SIGINT");
await new Promise((r) => server.on("exit", r));

printSelfTime(dir, Number(opt("top", 25)));
