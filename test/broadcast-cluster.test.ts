// examples/broadcast-server.mjs as a cluster over a real redis-server: three Node processes, one
// Bun and one Deno, each with two ws clients (one with permessage-deflate, one without). One
// client per process sends; every client of every process, the sender included, must receive
// every message exactly once, in each sender's order, byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createClient } from "redis";
import WS from "ws";
import { RUNTIMES } from "./helpers/runtimes.js";
import { RedisServer, freePort, redisServerVersion, skipWithoutRedis } from "./helpers/redis.js";
import { message, summary, MIB } from "./fixtures/pubsub-messages.mjs";

const ROOT = join(import.meta.dirname, "..");
const skip = skipWithoutRedis("broadcast cluster tests");
const WAIT_MS = 60_000;
const N = 30; // messages per sender: one of them 1 MiB (message(…, 25))
const SERVERS = [
  { name: "node0", runtime: "node" },
  { name: "node1", runtime: "node" },
  { name: "node2", runtime: "node" },
  { name: "bun", runtime: "bun" },
  { name: "deno", runtime: "deno" },
];

/** Sender `s`'s i-th message: "s:i:" then message(s, i)'s text or bytes. */
function tagged(sender: string, i: number): { binary: boolean; data: string | Buffer } {
  const m = message(sender, i);
  const tag = `${sender}:${i}:`;
  return m.binary ? { binary: true, data: Buffer.concat([Buffer.from(tag), m.data as Uint8Array]) } : { binary: false, data: tag + (m.data as string) };
}
const summaryOf = (m: { binary: boolean; data: string | Buffer }) => summary(m.binary, Buffer.from(m.data));

interface Server {
  name: string;
  proc: ChildProcess;
  url: string;
  output: string;
}

async function startServer(name: string, runtime: string, redisUrl: string): Promise<Server> {
  const port = await freePort();
  const [cmd, ...pre] = RUNTIMES[runtime]!;
  const proc = spawn(cmd!, [...pre, "examples/broadcast-server.mjs", "--port", String(port), "--redis", redisUrl], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const server: Server = { name, proc, url: `ws://127.0.0.1:${port}`, output: "" };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${WAIT_MS} ms: ${server.output}`)), WAIT_MS);
    const onData = (d: Buffer) => {
      server.output += d;
      if (server.output.includes(`listening on ws://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}): ${server.output}`));
    });
  });
  return server;
}

/** A ws client that records every message it receives as [sender or "", summary]. */
class Client {
  readonly got: { sender: string; summary: string }[] = [];
  #waits: { n: number; resolve: () => void }[] = [];

  private constructor(readonly name: string, readonly ws: WS) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const tag = /^([a-z0-9]+):\d+:/.exec(data.subarray(0, 32).toString("latin1"));
      this.got.push({ sender: tag?.[1] ?? "", summary: summary(isBinary, data) });
      this.#waits = this.#waits.filter((w) => (this.got.length >= w.n ? (w.resolve(), false) : true));
    });
  }

  static async open(name: string, url: string, deflate: boolean): Promise<Client> {
    const ws = new WS(url, { perMessageDeflate: deflate });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return new Client(name, ws);
  }

  /** Resolves once `n` messages have arrived in all; fails after WAIT_MS. */
  count(n: number): Promise<void> {
    if (this.got.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: ${this.got.length} of ${n} messages after ${WAIT_MS} ms`)), WAIT_MS);
      this.#waits.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

describe.skipIf(skip)(`examples/broadcast-server.mjs as a cluster over ${redisServerVersion() ?? "no redis-server"}`, () => {
  let redis: RedisServer;
  let servers: Server[] = [];
  let clients: Client[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    servers = await Promise.all(SERVERS.map((s) => startServer(s.name, s.runtime, redis.url)));
    for (const s of servers) {
      clients.push(await Client.open(`${s.name}/deflate`, s.url, true));
      clients.push(await Client.open(`${s.name}/plain`, s.url, false));
    }
    // Every process subscribes at Redis when its first client joins the topic: wait until all five have.
    const raw = createClient({ url: redis.url });
    raw.on("error", () => {});
    await raw.connect();
    try {
      let n = 0;
      for (let tries = 0; tries < 400 && n < servers.length; tries++) {
        n = Number((await raw.pubSubNumSub("wasmsocket:broadcast"))["wasmsocket:broadcast"] ?? 0);
        if (n < servers.length) await new Promise((r) => setTimeout(r, 25));
      }
      expect(n, "processes subscribed at Redis").toBe(servers.length);
    } finally {
      await raw.close();
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.proc.exitCode !== null ? resolve() : (s.proc.once("exit", () => resolve()), s.proc.kill())))));
    await redis?.stop();
    clients = [];
    servers = [];
  });

  it(`every client gets every sender's ${N} messages (text and binary up to 1 MiB), in order, byte for byte`, async () => {
    expect(Array.from({ length: N }, (_, i) => Buffer.from(tagged("x", i).data).length).some((n) => n > MIB)).toBe(true);
    const senders = clients.filter((c) => c.name.endsWith("/deflate"));
    for (const c of senders) {
      const name = c.name.split("/")[0]!;
      for (let i = 0; i < N; i++) {
        const m = tagged(name, i);
        c.ws.send(m.data, { binary: m.binary });
      }
    }
    await Promise.all(clients.map((c) => c.count(senders.length * N)));
    for (const c of clients) {
      for (const s of SERVERS) {
        const want = Array.from({ length: N }, (_, i) => summaryOf(tagged(s.name, i)));
        expect(c.got.filter((g) => g.sender === s.name).map((g) => g.summary), `${c.name} from ${s.name}`).toEqual(want);
      }
      expect(c.got).toHaveLength(senders.length * N);
    }

    // Empty messages carry no sender: one empty text and one empty binary from each sender, counted.
    for (const c of senders) {
      c.ws.send("");
      c.ws.send(Buffer.alloc(0));
    }
    const total = senders.length * (N + 2);
    await Promise.all(clients.map((c) => c.count(total)));
    for (const c of clients) {
      const empties = c.got.slice(senders.length * N);
      expect(empties.filter((g) => g.summary === summary(false, Buffer.alloc(0)))).toHaveLength(senders.length);
      expect(empties.filter((g) => g.summary === summary(true, Buffer.alloc(0)))).toHaveLength(senders.length);
      expect(c.got).toHaveLength(total);
    }
    for (const s of servers) expect(s.output).not.toMatch(/error/i);
  }, 180_000);
});
