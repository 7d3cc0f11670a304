#!/usr/bin/env node
// The Autobahn|Testsuite client loop: ask the fuzzing server for the case count, run every case
// echoing each message, then ask it to write the reports.
//   node examples/autobahn-client.mjs --url ws://127.0.0.1:9001 --agent wasmsocket
import WebSocket, { backendInfo } from "wasmsocket/node";

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const base = arg("url", "ws://127.0.0.1:9001");
const agent = arg("agent", "wasmsocket");

function run(path, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}${path}`, { maxPayload: 64 * 1024 * 1024 });
    ws.on("message", (data, isBinary) => onMessage?.(ws, data, isBinary));
    ws.on("error", () => {});
    ws.on("close", () => resolve());
  });
}

let count = 0;
await run("/getCaseCount", (_ws, data) => (count = Number(data.toString())));
console.log(`${count} cases (core: ${backendInfo().name})`);
for (let i = 1; i <= count; i++) {
  await run(`/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, (ws, data, isBinary) => ws.send(data, { binary: isBinary }));
  if (i % 50 === 0) console.log(`case ${i}/${count}`);
}
await run(`/updateReports?agent=${encodeURIComponent(agent)}`);
console.log("reports updated");
