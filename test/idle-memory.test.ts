// An idle connection holds no buffer: after answering a keepalive ping and echoing a message, the
// server's connections keep no outgoing slab (it goes back to a shared free list once the kernel
// has the bytes). Measured as the growth of process.memoryUsage().arrayBuffers per connection,
// after a full GC (1 051 B per connection when each kept its 1 KiB slab).
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runInNewContext } from "node:vm";
import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { WebSocketServer } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";
import { RUNTIMES } from "./helpers/runtimes.js";

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const arrayBuffers = () => {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
};

describe("idle connections", () => {
  it("hold no outgoing buffer after a ping and an echo (arrayBuffers per connection, after GC)", async () => {
    const N = 300;
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const clients: WsClient[] = [];
    try {
      for (let i = 0; i < N; i++) clients.push(new WsClient(url, { perMessageDeflate: false }));
      await Promise.all(clients.map((c) => new Promise((r, j) => (c.once("open", r), c.once("error", j)))));
      // Every connection answers a ping and echoes 32 B, then goes idle. The first one does so
      // before the measurement: what the process allocates once (shared scratch buffers) is not per connection.
      const exchange = (cs: WsClient[]) =>
        Promise.all(cs.map((c) => new Promise((r) => (c.once("pong", r), c.ping())))).then(() =>
          Promise.all(cs.map((c) => new Promise((r) => (c.once("message", r), c.send("x".repeat(32)))))),
        );
      await exchange(clients.slice(0, 1));
      const before = arrayBuffers();
      await exchange(clients.slice(1));
      await new Promise((r) => setTimeout(r, 50));
      const perConnection = (arrayBuffers() - before) / (N - 1);
      // A slab kept per connection is 1 KiB; what remains here is the ws clients' own (~27 B).
      console.log(`arrayBuffers per idle connection: ${perConnection.toFixed(1)} B`);
      expect(perConnection).toBeLessThan(48);
    } finally {
      for (const c of clients) c.terminate();
      await closeServer(wss);
    }
  });
});

// Bun (issue 19): the JSC objects an idle server connection holds, counted by Bun's heapStats() after
// a full GC, over N connections that each echoed a message and answered a ping. 20 per connection
// before the layout work (its own Settings, a cleared timer and its closure, the server's 'close'
// listener closure, a Map and a list per event in the emitter); 12 after; 10 once the deadlines
// became the connection's base class (one object less) and fields were cut so the others fit
// smaller cells: the Bun socket, our transport, socket, driver, connection (with its deadlines),
// inbound and outbound, and the application's 'message' listener (its closure, its scope, the
// listener list); 9 once an idle connection holds no inbound (it borrows one per receive and gives
// it back between messages: 10.0 before).
describe("idle connections on Bun", () => {
  it("hold at most 9 JSC objects each (after an echo and a ping, after GC)", async () => {
    const N = 200;
    const port = await new Promise<number>((r) => {
      const s = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const root = join(import.meta.dirname, "..");
    const proc = spawn(RUNTIMES.bun![0]!, ["test/fixtures/idle-heap-server.mjs", "--port", String(port)], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: proc.stdout! });
    const next = () => new Promise<string>((r) => lines.once("line", r));
    const clients: WsClient[] = [];
    try {
      expect(await next()).toMatch(/listening/);
      const url = `ws://127.0.0.1:${port}`;
      const openMany = async (n: number) => {
        const cs = Array.from({ length: n }, () => new WsClient(url, { perMessageDeflate: false }));
        await Promise.all(cs.map((c) => new Promise((r, j) => (c.once("open", r), c.once("error", j)))));
        await Promise.all(cs.map((c) => new Promise((r) => (c.once("pong", r), c.ping()))));
        await Promise.all(cs.map((c) => new Promise((r) => (c.once("message", r), c.send("x".repeat(32))))));
        clients.push(...cs);
      };
      const measure = async () => {
        proc.stdin!.write("measure\n");
        return JSON.parse(await next()) as { objects: number; heapSize: number; types: Record<string, number> };
      };
      // A few connections first: what the process makes once (code, structures, pools) is not per connection.
      await openMany(10);
      const before = await measure();
      await openMany(N);
      const after = await measure();
      // By type, leaving out what the JIT makes while these connections run (code blocks, structures).
      const jit = /CodeBlock|Structure|Executable|Unlinked|PropertyTable|SymbolTable/;
      const perType = Object.keys(after.types)
        .filter((k) => !jit.test(k))
        .map((k) => [k, (after.types[k]! - (before.types[k] ?? 0)) / N] as const);
      const perConnection = perType.reduce((sum, [, v]) => sum + v, 0);
      const shown = perType.filter(([, v]) => Math.abs(v) >= 0.05).map(([k, v]) => `${k} ${v.toFixed(2)}`);
      console.log(`Bun: JSC objects per idle connection ${perConnection.toFixed(2)} (${shown.join(", ")}; all objects ${((after.objects - before.objects) / N).toFixed(2)}), heap ${((after.heapSize - before.heapSize) / N).toFixed(0)} B`);
      expect(perConnection).toBeLessThan(9.5);
    } finally {
      for (const c of clients) c.terminate();
      proc.kill();
    }
  }, 60_000);
});
