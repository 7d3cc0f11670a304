// The Node client over HTTP/1.1 vs HTTP/2 (RFC 8441), against our echo server in its own process
// (examples/echo-server.mjs, plain and --http2): S sockets, each keeping F 32-byte text messages
// in flight until M echoes in all; reports msgs/s and the client's own CPU per message (user+system
// of this process), alternating the two for R rounds. Usage: node bench/h2-client.mjs [R]
import { spawn } from "node:child_process";
import { connect } from "wasmsocket/node";

const R = Number(process.argv[2] ?? 3), S = 50, F = 16, M = 200_000;
const msg = "x".repeat(32);

function server(args) {
  const p = spawn(process.execPath, ["examples/echo-server.mjs", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => p.stdout.once("data", () => resolve(p)));
}

async function run(url, http2) {
  const sockets = await Promise.all(Array.from({ length: S }, () => new Promise((resolve, reject) => {
    const ws = connect(url, { http2, perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  })));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0, sent = 0;
  await new Promise((resolve) => {
    for (const ws of sockets) {
      ws.on("message", () => {
        if (++done === M) resolve();
        else if (sent < M) (sent++, ws.send(msg));
      });
      for (let i = 0; i < F; i++) (sent++, ws.send(msg));
    }
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const version = sockets[0].httpVersion;
  for (const ws of sockets) ws.terminate();
  return { version, rate: (M / ms) * 1000, cpuUs: (cpu.user + cpu.system) / M };
}

const h1 = await server(["--port", "9301"]);
const h2 = await server(["--http2", "--port", "9302"]);
const rows = { "1.1": [], "2": [] };
for (let r = 0; r < R; r++) {
  for (const [url, http2] of r % 2 ? [["ws://127.0.0.1:9302", true], ["ws://127.0.0.1:9301", false]] : [["ws://127.0.0.1:9301", false], ["ws://127.0.0.1:9302", true]]) {
    const x = await run(url, http2);
    rows[x.version].push(x);
    console.log(`round ${r + 1} HTTP/${x.version}: ${Math.round(x.rate)} msgs/s, client CPU ${x.cpuUs.toFixed(2)} us/msg`);
  }
}
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const v of ["1.1", "2"]) {
  const rs = rows[v].map((x) => x.rate), cs = rows[v].map((x) => x.cpuUs);
  console.log(`HTTP/${v}: median ${Math.round(med(rs))} msgs/s (${Math.round(Math.min(...rs))}-${Math.round(Math.max(...rs))}), client CPU ${med(cs).toFixed(2)} us/msg (${Math.min(...cs).toFixed(2)}-${Math.max(...cs).toFixed(2)})`);
}
h1.kill();
h2.kill();
