// RedisBroker against a real redis-server (test/helpers/redis.ts starts one per suite on a free
// loopback port): brokers in this process and in child processes exchange messages (counts, order
// per publisher, payload bytes, no self-echo); an outage (redis-server stopped mid-stream and
// started again) holds publishes up to the bound, refuses the rest, and delivers the held ones in
// order once Redis is back, with the subscriptions restored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "redis";
import { RedisBroker, BrokerQueueFullError, type RedisBrokerOptions } from "../src/adapters/redis-broker.js";
import { RedisServer, TcpGate, freePort, redisServerVersion, skipWithoutRedis } from "./helpers/redis.js";
import { message, tagged, bytesOf, summary, expectedSummaries, MIB } from "./fixtures/pubsub-messages.mjs";

const ROOT = join(import.meta.dirname, "..");
const skip = skipWithoutRedis("RedisBroker tests");
const WAIT_MS = 30_000;

/** A broker that records what it receives (as summaries, by topic) and its errors. */
class Peer {
  readonly got = new Map<string, string[]>();
  readonly errors: Error[] = [];
  #waits: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(readonly name: string, readonly broker: RedisBroker) {
    broker.onMessage = (topic, data, binary) => {
      expect(data).toBeInstanceOf(Uint8Array);
      const list = this.got.get(topic) ?? [];
      list.push(summary(binary, data));
      this.got.set(topic, list);
      this.#poke();
    };
    broker.onError = (err) => {
      this.errors.push(err);
      this.#poke();
    };
  }

  static async connect(name: string, url: string, options?: RedisBrokerOptions): Promise<Peer> {
    return new Peer(name, await RedisBroker.connect(url, options));
  }

  list(topic: string): string[] {
    return this.got.get(topic) ?? [];
  }

  /** Resolves when `check()` holds, checked after each message or error; fails after WAIT_MS saying `what`. */
  until(what: string, check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: waited ${WAIT_MS} ms for ${what}`)), WAIT_MS);
      this.#waits.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  #poke(): void {
    this.#waits = this.#waits.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

function publishAll(peer: Peer, topic: string, from: number, to: number): number {
  let refused = 0;
  for (let i = from; i < to; i++) {
    const m = message(peer.name, i);
    if (!peer.broker.publish(topic, bytesOf(m), m.binary)) refused++;
  }
  return refused;
}

describe.skipIf(skip)(`RedisBroker (${redisServerVersion() ?? "no redis-server"})`, () => {
  let redis: RedisServer;
  const open: RedisBroker[] = [];
  const connect = async (name: string, url = redis.url, options?: RedisBrokerOptions) => {
    const p = await Peer.connect(name, url, options);
    open.push(p.broker);
    return p;
  };

  beforeAll(async () => void (redis = await RedisServer.start()));
  afterAll(async () => {
    await Promise.all(open.map((b) => b.close()));
    await redis?.stop();
  });

  it("the test messages cover empty, text, binary and 1 MiB payloads", () => {
    const kinds = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const m = message("A", i);
      const n = bytesOf(m).length;
      kinds.add(`${m.binary ? "b" : "t"}${n === 0 ? "0" : n >= MIB ? "M" : "n"}`);
      if (!m.binary) expect(new TextDecoder().decode(bytesOf(m))).toBe(m.data); // well-formed text
    }
    expect([...kinds].sort()).toEqual(["b0", "bM", "bn", "t0", "tM", "tn"]);
    expect(expectedSummaries("A", 0, 5)).not.toEqual(expectedSummaries("B", 0, 5));
  });

  it("three brokers in one process: each gets the others' messages, in order and byte for byte, and never its own", async () => {
    const names = ["A", "B", "C"];
    const peers = await Promise.all(names.map((n) => connect(n)));
    for (const p of peers) for (const n of names) p.broker.subscribe(`news/${n}`);
    await Promise.all(peers.map((p) => p.broker.whenConnected()));
    for (const p of peers) expect(publishAll(p, `news/${p.name}`, 0, 200)).toBe(0);
    for (const p of peers) {
      const others = names.filter((n) => n !== p.name);
      await p.until("200 messages from each other broker", () => others.every((n) => p.list(`news/${n}`).length >= 200));
    }
    for (const p of peers) {
      for (const n of names) expect(p.list(`news/${n}`), `${p.name} on news/${n}`).toEqual(n === p.name ? [] : expectedSummaries(n, 0, 200));
      expect(p.errors).toEqual([]);
      expect(p.broker.droppedMessages).toBe(0);
    }
  });

  it("publishers interleaved on one topic: each publisher's order is kept", async () => {
    const peers = await Promise.all(["P", "Q", "R"].map((n) => connect(n)));
    for (const p of peers) p.broker.subscribe("room");
    await Promise.all(peers.map((p) => p.broker.whenConnected()));
    for (let i = 0; i < 300; i++) {
      for (const p of peers) {
        const m = tagged(p.name, i);
        expect(p.broker.publish("room", bytesOf(m), m.binary)).toBe(true);
      }
    }
    for (const p of peers) await p.until("600 messages", () => p.list("room").length >= 600);
    const expectedOf = (n: string) => Array.from({ length: 300 }, (_, i) => tagged(n, i)).map((m) => summary(m.binary, bytesOf(m)));
    for (const p of peers) {
      const got = p.list("room");
      expect(got).toHaveLength(600);
      for (const q of peers) {
        const want = expectedOf(q.name);
        const mine = got.filter((s) => want.includes(s));
        expect(mine, `${p.name} from ${q.name}`).toEqual(q === p ? [] : want);
      }
    }
  });

  it("unsubscribe stops delivery, subscribe resumes it; both are idempotent", async () => {
    const [a, b] = await Promise.all([connect("A"), connect("B")]);
    b.broker.subscribe("u");
    b.broker.subscribe("u");
    b.broker.subscribe("sync");
    await b.broker.whenConnected();
    const send = (topic: string, i: number) => {
      const m = tagged("A", i);
      a.broker.publish(topic, bytesOf(m), m.binary);
      return summary(m.binary, bytesOf(m));
    };
    const m1 = send("u", 1);
    const s1 = send("sync", 2);
    await b.until("the first sync", () => b.list("sync").length === 1);
    b.broker.unsubscribe("u");
    b.broker.unsubscribe("u");
    send("u", 3); // B is not subscribed: never delivered
    const s2 = send("sync", 4); // same publisher, so it comes after "u" 3 would have
    await b.until("the second sync", () => b.list("sync").length === 2);
    b.broker.subscribe("u");
    b.broker.subscribe("u");
    await b.broker.whenConnected();
    const m5 = send("u", 5);
    const s3 = send("sync", 6);
    await b.until("the third sync", () => b.list("sync").length === 3);
    expect(b.list("sync")).toEqual([s1, s2, s3]);
    expect(b.list("u")).toEqual([m1, m5]);
    expect(b.errors).toEqual([]);
  });

  it("puts the prefix on channel names and sends the origin, a sequence number and the bytes", async () => {
    const a = await connect("A", redis.url, { prefix: "pfx:" });
    const raw = createClient({ url: redis.url });
    raw.on("error", () => {});
    await raw.connect();
    const seen: Buffer[] = [];
    let done!: () => void;
    const two = new Promise<void>((r) => (done = r));
    await raw.subscribe("pfx:t", (msg: Buffer) => (seen.push(msg), seen.length === 2 && done()), true);
    a.broker.publish("t", new Uint8Array([1, 2, 3]), true);
    a.broker.publish("t", new TextEncoder().encode("é"), false);
    await two;
    await raw.close();
    const origin = Buffer.from(a.broker.origin, "hex");
    expect(seen[0]).toEqual(Buffer.concat([Buffer.from([1, 1]), origin, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from([1, 2, 3])]));
    expect(seen[1]).toEqual(Buffer.concat([Buffer.from([1, 0]), origin, Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from("é")]));
  });

  it("ignores what is not an envelope on its channels, and says so once", async () => {
    const b = await connect("B");
    b.broker.subscribe("t");
    await b.broker.whenConnected();
    const raw = createClient({ url: redis.url });
    raw.on("error", () => {});
    await raw.connect();
    await raw.publish("wasmsocket:t", "hello");
    await raw.publish("wasmsocket:t", Buffer.from([9, 9, 9]));
    await raw.close();
    const a = await connect("A");
    const m = tagged("A", 0);
    a.broker.publish("t", bytesOf(m), m.binary);
    await b.until("A's message", () => b.list("t").length === 1);
    expect(b.list("t")).toEqual([summary(m.binary, bytesOf(m))]);
    expect(b.errors.map((e) => e.message)).toEqual([expect.stringContaining("not a wasmsocket envelope")]);
  });

  it("fails to connect when Redis is not there", async () => {
    const port = await freePort();
    await expect(RedisBroker.connect(`redis://127.0.0.1:${port}`)).rejects.toThrow(/cannot connect to redis:\/\/127\.0\.0\.1:\d+/);
  });

  it("brokers in three processes exchange messages: counts, order, bytes, no self-echo", async () => {
    const names = ["A", "B", "C"];
    const topics = names.map((n) => `news/${n}`).join(",");
    const procs = names.map((name) => {
      const proc = spawn(process.execPath, ["test/fixtures/broker-peer.mjs", "--url", redis.url, "--name", name, "--topics", topics], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
      return { name, proc, lines: [] as string[], stderr: "" };
    });
    try {
      const lineWaits = procs.map((p) => {
        const waits: { check: () => boolean; resolve: () => void }[] = [];
        createInterface({ input: p.proc.stdout! }).on("line", (l) => {
          p.lines.push(l);
          for (const w of waits.splice(0)) if (w.check()) w.resolve(); else waits.push(w);
        });
        p.proc.stderr!.on("data", (d) => (p.stderr += d));
        return (what: string, check: () => boolean) =>
          check()
            ? Promise.resolve()
            : new Promise<void>((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error(`${p.name}: waited for ${what}; stderr: ${p.stderr}`)), WAIT_MS);
                p.proc.once("exit", (code) => reject(new Error(`${p.name} exited (${code}) waiting for ${what}: ${p.stderr}`)));
                waits.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
              });
      });
      await Promise.all(procs.map((p, k) => lineWaits[k]!("ready", () => p.lines.some((l) => l.startsWith("ready ")))));
      for (const p of procs) p.proc.stdin!.write(`publish news/${p.name} 200\n`);
      const got = (p: (typeof procs)[number], topic: string) =>
        p.lines.filter((l) => l.startsWith(`msg ${topic} `)).map((l) => l.slice(`msg ${topic} `.length));
      await Promise.all(
        procs.map((p, k) => lineWaits[k]!("400 messages", () => names.every((n) => n === p.name || got(p, `news/${n}`).length >= 200))),
      );
      for (const p of procs) {
        expect(p.lines).toContain("published 200 0");
        for (const n of names) expect(got(p, `news/${n}`), `${p.name} on news/${n}`).toEqual(n === p.name ? [] : expectedSummaries(n, 0, 200));
        expect(p.lines.filter((l) => l.startsWith("error "))).toEqual([]);
      }
      const origins = procs.map((p) => p.lines.find((l) => l.startsWith("ready "))!.slice(6));
      expect(new Set(origins).size).toBe(3);
      for (const p of procs) p.proc.stdin!.write("close\n");
      await Promise.all(procs.map((p, k) => lineWaits[k]!("closed", () => p.lines.includes("closed"))));
    } finally {
      for (const p of procs) p.proc.kill();
    }
  });

  describe("outage", () => {
    let down: RedisServer;
    let gate: TcpGate;
    const fast = { minReconnectDelay: 10, maxReconnectDelay: 100 };

    beforeAll(async () => {
      down = await RedisServer.start();
      gate = await TcpGate.start(down.port);
    });
    afterAll(async () => {
      await gate?.shutdown();
      await down?.stop();
    });

    const lost = (p: Peer) =>
      p.until("both connections lost", () => p.errors.filter((e) => /lost the (publisher|subscriber) connection/.test(e.message)).length === 2);

    it("redis-server stopped mid-stream: publishes are held up to maxQueuedBytes, then refused; held ones arrive in order once it is back, and subscriptions work again", async () => {
      const MAX = 1024 * 1024;
      // A reaches Redis through the gate, so the test can let B and C resubscribe before A resends.
      const a = await connect("A", gate.url, { ...fast, maxQueuedBytes: MAX });
      const [b, c] = await Promise.all([connect("B", down.url, fast), connect("C", down.url, fast)]);
      a.broker.subscribe("back");
      for (const p of [b, c]) p.broker.subscribe("news");
      await Promise.all([a, b, c].map((p) => p.broker.whenConnected()));

      // A streams small messages; once B has 50 of them, redis-server stops (SIGTERM) while A goes on.
      const sent: string[] = [];
      const publishTagged = (i: number, size = 1000) => {
        const m = tagged("A", i, size);
        const ok = a.broker.publish("news", bytesOf(m), m.binary);
        if (ok) sent.push(summary(m.binary, bytesOf(m)));
        return ok;
      };
      let stopped: Promise<void> | undefined;
      let i = 0;
      for (; i < 300; i++) {
        expect(publishTagged(i)).toBe(true);
        if (i % 10 === 9) await new Promise((r) => setImmediate(r));
        if (!stopped && b.list("news").length >= 50) {
          stopped = down.stop();
          gate.close();
        }
      }
      expect(stopped, "B had 50 messages before A published 300").toBeDefined();
      await stopped;
      await Promise.all([a, b, c].map(lost));
      expect(a.broker.connected).toBe(false);

      // The outage: 16 KiB messages are taken while the held bytes stay within MAX, then refused.
      const SIZE = 16 * 1024;
      const heldBefore = a.broker.queuedBytes;
      let taken = 0;
      for (; taken < 1000 && publishTagged(i, SIZE); taken++) i++;
      const refusedAt = a.broker.queuedBytes;
      expect(taken).toBeGreaterThan(0);
      expect(taken).toBeLessThan(1000);
      expect(refusedAt).toBeLessThanOrEqual(MAX);
      expect(refusedAt + SIZE + 18).toBeGreaterThan(MAX);
      expect(refusedAt - heldBefore).toBe(taken * (SIZE + 18));
      for (let k = 1; k <= 4; k++) expect(publishTagged(i + k, SIZE)).toBe(false);
      expect(a.broker.droppedMessages).toBe(5);
      const full = a.errors.filter((e) => e instanceof BrokerQueueFullError);
      expect(full).toHaveLength(1); // once per outage, not once per message
      expect(full[0]!.message).toMatch(/Redis is unreachable/);

      // Redis is back: B and C resubscribe first, then A may reconnect and resend what it holds.
      await down.restart();
      await Promise.all([b.broker.whenConnected(), c.broker.whenConnected()]);
      gate.open();
      await a.broker.whenConnected();
      for (const p of [b, c]) await p.until(`all ${sent.length} messages`, () => p.list("news").length >= sent.length);
      for (const p of [b, c]) expect(p.list("news"), p.name).toEqual(sent);

      // Subscriptions restored on both sides: B to A, and A to B and C again.
      const m = tagged("B", 0);
      b.broker.publish("back", bytesOf(m), m.binary);
      await a.until("B's message on 'back'", () => a.list("back").length === 1);
      expect(a.list("back")).toEqual([summary(m.binary, bytesOf(m))]);
      expect(publishTagged(10_000)).toBe(true);
      for (const p of [b, c]) await p.until("A's message after the outage", () => p.list("news").length === sent.length);
      for (const p of [b, c]) expect(p.list("news")).toEqual(sent);
      expect(a.errors.length).toBe(3); // lost publisher, lost subscriber, queue full
      for (const p of [b, c]) expect(p.errors.length).toBe(2);
      // close() waits for Redis to acknowledge what is in flight; anything still held would count as dropped.
      await a.broker.close();
      expect(a.broker.droppedMessages).toBe(5);
    });

    it("a message Redis delivered but did not acknowledge is sent again, and receivers drop the copy", async () => {
      const a = await connect("A", gate.url, fast);
      const b = await connect("B", down.url, fast);
      b.broker.subscribe("d");
      await b.broker.whenConnected();
      gate.mute(); // Redis gets A's publishes, A gets no reply
      const sent: string[] = [];
      const send = (i: number) => {
        const m = tagged("A", i);
        expect(a.broker.publish("d", bytesOf(m), m.binary)).toBe(true);
        sent.push(summary(m.binary, bytesOf(m)));
      };
      for (let i = 0; i < 5; i++) send(i);
      await b.until("5 messages", () => b.list("d").length === 5);
      expect(a.broker.queuedBytes).toBe(5 * (32 + 18)); // none acknowledged
      gate.close();
      await lost(a);
      gate.open();
      await a.broker.whenConnected(); // the 5 are sent again
      send(5);
      await b.until("the 6th message", () => b.list("d").includes(sent[5]!));
      expect(b.list("d")).toEqual(sent);
      expect(b.errors).toEqual([]);
    });

    it("messages still held at close() are dropped and counted", async () => {
      const a = await connect("A", gate.url, fast);
      gate.close();
      await lost(a);
      for (let k = 0; k < 3; k++) expect(a.broker.publish("t", new Uint8Array(10), true)).toBe(true);
      expect(a.broker.queuedBytes).toBe(3 * 28);
      await a.broker.close();
      expect(a.broker.droppedMessages).toBe(3);
      expect(a.broker.publish("t", new Uint8Array(1), true)).toBe(false);
      await expect(a.broker.whenConnected()).rejects.toThrow(/closed/);
      gate.open();
    });
  });
});
