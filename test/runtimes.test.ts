// The same echo checks on every runtime, over real TCP on 127.0.0.1: our servers on Node, Deno and
// Bun (each on its own adapter) against ws's client and each runtime's client, and ws's server
// against each runtime's client. Deno and Bun are the binaries their npm packages ship.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { RUNTIMES } from "./helpers/runtimes.js";
import WS, { WebSocketServer as WsServer } from "ws";

const ROOT = join(import.meta.dirname, "..");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(runtime: string, script: string, args: string[]): ChildProcess {
  const [cmd, ...pre] = RUNTIMES[runtime]!;
  return spawn(cmd!, [...pre, script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
}

function output(p: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve) => p.on("exit", (code) => resolve({ code, out })));
}

async function startEcho(runtime: string, script = "examples/echo-server.mjs"): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = run(runtime, script, ["--port", String(port)]);
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    proc.stdout!.on("data", (d) => {
      seen += d;
      if (seen.includes("listening on")) resolve();
    });
    proc.on("exit", (c) => reject(new Error(`${runtime} echo server exited ${c}: ${seen}`)));
  });
  return { url: `ws://127.0.0.1:${port}`, proc };
}

async function wsClientEcho(url: string): Promise<void> {
  const ws = new WS(url, { perMessageDeflate: { threshold: 0 } });
  await new Promise((r) => ws.once("open", r));
  expect(ws.extensions).toContain("permessage-deflate");
  const msgs = ["hello", "x".repeat(70_000), Buffer.alloc(300_000, 9)];
  for (const m of msgs) {
    ws.send(m);
    const [d, isBinary] = await new Promise<[Buffer, boolean]>((r) => ws.once("message", (...a: [Buffer, boolean]) => r(a)));
    expect(isBinary).toBe(typeof m !== "string");
    expect(Buffer.compare(d, Buffer.from(m))).toBe(0);
  }
  ws.close();
  await new Promise((r) => ws.once("close", r));
}


/** A ws client without permessage-deflate, open (fails on 'error'). */
async function openUncompressed(url: string): Promise<WS> {
  const ws = new WS(url, { perMessageDeflate: false });
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  return ws;
}
describe.each(["node", "deno", "bun"])("echo server on %s", (runtime) => {
  let server: { url: string; proc: ChildProcess };
  beforeAll(async () => void (server = await startEcho(runtime)));
  afterAll(() => void server.proc.kill());

  it("serves ws's client, with permessage-deflate", () => wsClientEcho(server.url));

  it.each(["node", "deno", "bun"])("serves a %s client on its own adapter", async (clientRuntime) => {
    const { code, out } = await output(run(clientRuntime, "test/fixtures/echo-client.mjs", ["--url", server.url]));
    expect(out.trim()).toBe("ok");
    expect(code).toBe(0);
  });
});

describe.each(["node", "deno", "bun"])("a server with fragments: true on %s", (runtime) => {
  let server: { url: string; proc: ChildProcess };
  beforeAll(async () => void (server = await startEcho(runtime, "test/fixtures/fragment-server.mjs")));
  afterAll(() => void server.proc.kill());

  it("emits 'fragment' (data, isBinary, first, last) for each frame, in order", async () => {
    const ws = await openUncompressed(server.url);
    const replies: unknown[] = [];
    const want = [
      ["hel", false, true, false],
      ["lo ", false, false, false],
      ["wörld", false, false, true],
      ["ab", true, true, false],
      ["c", true, false, true],
      ["whole", false, true, true],
    ];
    const done = new Promise<void>((r) => ws.on("message", (d) => replies.push(JSON.parse(String(d))) === want.length && r()));
    ws.send("hel", { fin: false });
    ws.send("lo ", { fin: false });
    ws.send("wörld", { fin: true });
    ws.send(Buffer.from("ab"), { binary: true, fin: false });
    ws.send(Buffer.from("c"), { binary: true, fin: true });
    ws.send("whole");
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    expect(replies).toEqual(want);
    ws.close();
    await new Promise((r) => ws.once("close", r));
  });
});

describe.each(["node", "deno", "bun"])("pause() on a %s server", (runtime) => {
  let server: { url: string; proc: ChildProcess };
  beforeAll(async () => void (server = await startEcho(runtime, "test/fixtures/pause-server.mjs")));
  afterAll(() => void server.proc.kill());

  it("holds messages until resume(), then delivers them all", async () => {
    const ws = await openUncompressed(server.url);
    const reply = new Promise<unknown>((r) => ws.once("message", (d) => r(JSON.parse(String(d)))));
    for (let i = 0; i < 10; i++) {
      ws.send(`m${i}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await Promise.race([reply, new Promise((r) => setTimeout(() => r("no answer"), 5000))])).toEqual([1, false, 10]);
    ws.close();
  });
});

describe.each(["node", "deno", "bun"])("a throwing connection handler on a %s server", (runtime) => {
  let server: { url: string; proc: ChildProcess };
  beforeAll(async () => void (server = await startEcho(runtime, "test/fixtures/throwing-connection-server.mjs")));
  afterAll(() => void server.proc.kill());

  it("behind an asynchronous verifyClient: the socket opens at once and the exception is reported", async () => {
    let out = "";
    server.proc.stdout!.on("data", (d) => (out += d));
    const ws = new WS(server.url, { perMessageDeflate: false });
    const echo = new Promise((r) => ws.once("message", (d) => r(String(d))));
    ws.once("open", () => ws.send("hi"));
    expect(await Promise.race([echo, new Promise((r) => setTimeout(() => r("no echo within 3 s"), 3000))])).toBe("hi");
    for (let t = 0; t < 50 && !out.includes("connection boom"); t++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain("uncaught connection boom");
    ws.close();
  });
});

describe.each(["node", "deno", "bun"])("a %s client", (runtime) => {
  it("reports a refused connection as 'error' (ECONNREFUSED) then close 1006, also through the WHATWG class", async () => {
    const { code, out } = await output(run(runtime, "test/fixtures/refused-client.mjs", ["--url", `ws://127.0.0.1:${await freePort()}/`]));
    expect(out.trim().split("\n")).toEqual(["error ECONNREFUSED", "close 1006", "whatwg error", "whatwg close 1006 false", "unheard close 1006"]);
    expect(code).toBe(0);
  });
});

describe("ws server", () => {
  let server: WsServer;
  let url: string;
  beforeAll(async () => {
    server = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true, maxPayload: 1 << 25 });
    await new Promise((r) => server.once("listening", r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each(["deno", "bun"])("serves a %s client on its own adapter", async (clientRuntime) => {
    const { code, out } = await output(run(clientRuntime, "test/fixtures/echo-client.mjs", ["--url", url]));
    expect(out.trim()).toBe("ok");
    expect(code).toBe(0);
  });
});

describe("ws server over TLS (test/fixtures/runtime-tls: a test CA and a server certificate it signed)", () => {
  const tlsFile = (f: string) => readFileSync(join(ROOT, "test/fixtures/runtime-tls", f), "utf8");
  let https: ReturnType<typeof createHttpsServer>;
  let server: WsServer;
  let port: number;
  beforeAll(async () => {
    https = createHttpsServer({ cert: tlsFile("server-cert.pem"), key: tlsFile("server-key.pem") });
    server = new WsServer({ server: https, perMessageDeflate: true, maxPayload: 1 << 25 });
    server.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
    port = (https.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const ws of server.clients) ws.terminate();
    await new Promise<void>((r) => server.close(() => https.close(() => r())));
  });

  it.each(["node", "deno", "bun"])("serves a %s client on wss://, which trusts the test CA through `ca`", async (clientRuntime) => {
    for (const url of [`wss://127.0.0.1:${port}/`, `wss://localhost:${port}/`]) {
      const { code, out } = await output(run(clientRuntime, "test/fixtures/echo-client.mjs", ["--url", url, "--ca", "test/fixtures/runtime-tls/ca.pem"]));
      expect(out.trim()).toBe("ok");
      expect(code).toBe(0);
    }
  });

  it.each(["node", "deno", "bun"])("a %s client refuses the certificate without `ca`: 'error', then close 1006", async (clientRuntime) => {
    const { out } = await output(run(clientRuntime, "test/fixtures/untrusted-client.mjs", ["--url", `wss://127.0.0.1:${port}/`]));
    expect(out.trim().split("\n")).toEqual([expect.stringMatching(/^error \w+/), "close 1006"]);
  });
});
