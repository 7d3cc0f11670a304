// Echo server on Deno or Bun through one of serve()'s two front doors, for bench/e2e/front-door.mjs:
//   --door http   serve() with a fetch handler: the runtime's node:http, upgrades handed to our engine
//   --door tcp    serve() without one: Deno.listen / Bun.listen, WebSocket only
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const arg = (name, dflt) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const port = Number(arg("port", 9001));
const door = arg("door", "http");
const runtime = globalThis.Deno ? "deno" : "bun";
const m = await import(`wasmsocket/${runtime}`);
const echo = (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
const options = { port, hostname: "127.0.0.1", perMessageDeflate: true, maxMessageSize: 64 << 20, maxFrameSize: 64 << 20 };
const server = m.serve(door === "tcp" ? options : { ...options, fetch: () => new Response("hello") }, echo);
await server.ready;
console.log(`listening on ws://127.0.0.1:${port} (${runtime}, ${door})`);
