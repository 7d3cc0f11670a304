// Consumer (ESM) of the installed tarball: an echo round trip with the runtime's own front doors.
// Node imports the package root, which the "node" condition resolves to the node entry.
const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";
const m = runtime === "node" ? await import("wasmsocket") : await import(`wasmsocket/${runtime}`);
const exit = (code) => (globalThis.Deno ? Deno.exit(code) : process.exit(code));
setTimeout(() => (console.log("timeout"), exit(1)), 15_000).unref?.();
const onConnection = (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
let url;
let stop;
if (runtime === "node") {
  const wss = new m.WebSocketServer({ port: 0, host: "127.0.0.1" });
  wss.on("connection", onConnection);
  await new Promise((r) => wss.on("listening", r));
  url = `ws://127.0.0.1:${wss.address().port}/`;
  stop = () => wss.close();
} else {
  const server = m.serve({ port: 0, hostname: "127.0.0.1" }, onConnection);
  url = `ws://127.0.0.1:${server.port ?? server.addr.port}/`;
  stop = () => server.close();
}
// Today's node entry opens clients with connect(); the ws-shaped one with new WebSocket(url).
const ws = typeof m.connect === "function" ? m.connect(url) : new m.WebSocket(url);
const sent = ["hello é", new Uint8Array([1, 2, 3, 255])];
const got = [];
ws.on("open", () => sent.forEach((s) => ws.send(s)));
ws.on("message", (data, isBinary) => {
  got.push(isBinary ? Array.from(data) : String(data));
  if (got.length === sent.length) ws.close(1000);
});
ws.on("close", (code) => {
  const ok = code === 1000 && JSON.stringify(got) === JSON.stringify([sent[0], Array.from(sent[1])]);
  console.log(ok ? `ok ${runtime} ${m.backendInfo().name}` : `failed: ${code} ${JSON.stringify(got)}`);
  stop();
  exit(ok ? 0 : 1);
});
