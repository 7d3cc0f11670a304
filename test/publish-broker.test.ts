// Servers joined by RedisBrokers against a real redis-server, driven by `ws` clients over real
// sockets: what a publish promises locally holds across processes (here: servers in one test process,
// each with its own broker, play the processes). publish(…, compress = false) goes out uncompressed
// on every server, as it does locally. Servers of one process given the same broker (two ports) are
// one place: each gets the other processes' messages, and each other's, and one's last subscriber
// leaving does not unsubscribe the other. Servers made and dropped with one broker leave nothing
// behind once collected.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import WS from "ws";
import type { AddressInfo } from "node:net";
import { WebSocketServer, RedisBroker, type ServerOptions } from "../src/node.js";
import { RedisServer, redisServerVersion, skipWithoutRedis } from "./helpers/redis.js";
import { closeServer } from "./helpers/servers.js";

const skip = skipWithoutRedis("publish over RedisBroker tests");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).toBe(true);
}

describe.skipIf(skip)(`publish across servers over RedisBroker (${redisServerVersion() ?? "no redis-server"})`, () => {
  let redis: RedisServer;
  beforeAll(async () => void (redis = await RedisServer.start()));
  afterAll(async () => void (await redis?.stop()));

  async function broker() {
    const b = await RedisBroker.connect(redis.url);
    cleanups.push(() => b.close());
    return b;
  }

  /** A server whose every socket subscribes to "t". */
  async function server(options: Partial<ServerOptions>) {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    cleanups.push(() => closeServer(wss));
    wss.on("connection", (ws) => ws.subscribe("t"));
    return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
  }

  /** A ws client that records what it receives; resolves once its socket is subscribed. */
  async function client(s: { wss: WebSocketServer; url: string }, options: WS.ClientOptions = {}) {
    const before = s.wss.subscriberCount("t");
    const ws = new WS(s.url, options);
    cleanups.push(() => ws.terminate());
    const got: Buffer[] = [];
    ws.on("message", (data: Buffer) => got.push(data));
    await new Promise((r) => ws.once("open", r));
    await until(() => s.wss.subscriberCount("t") > before, "subscribed");
    return { ws, got };
  }

  it("publish(…, compress = false) is not compressed by the other processes either", async () => {
    const deflate = { perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } };
    const [ba, bb] = [await broker(), await broker()];
    const a = await server({ ...deflate, broker: ba });
    const b = await server({ ...deflate, broker: bb });
    const local = await client(a, { perMessageDeflate: true });
    const remote = await client(b, { perMessageDeflate: true });
    await Promise.all([ba.whenConnected(), bb.whenConnected()]);
    const payload = "a".repeat(256 * 1024); // deflates to a few hundred bytes
    const wire = (c: { ws: WS }) => (c.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
    for (const compress of [true, false]) {
      const before = [wire(local), wire(remote)];
      const n = local.got.length;
      expect(a.wss.publish("t", payload, compress)).toBe(payload.length);
      await until(() => local.got.length === n + 1 && remote.got.length === n + 1, "both got it");
      expect(local.got[n]!.toString()).toBe(payload);
      expect(remote.got[n]!.toString()).toBe(payload);
      const read = [wire(local) - before[0]!, wire(remote) - before[1]!];
      // Compressed: well under the payload; not compressed: at least the payload, on both servers.
      if (compress) for (const r of read) expect(r).toBeLessThan(payload.length / 10);
      else expect(read.map((r) => r >= payload.length)).toEqual([true, true]);
    }
  });

  it("servers of one process sharing a broker: each gets the others' publishes and the other processes'", async () => {
    const shared = await broker();
    const s1 = await server({ broker: shared });
    const s2 = await server({ broker: shared });
    const other = await server({ broker: await broker() }); // another process
    const [c1, c2, c3] = [await client(s1), await client(s2), await client(other)];
    const sender = [...s1.wss.clients][0]!;
    await shared.whenConnected();
    const texts = (c: { got: Buffer[] }) => c.got.map(String);
    const all = [c1, c2, c3];
    other.wss.publish("t", "from the other process");
    await until(() => all.every((c) => c.got.length === 1), "everyone got the remote publish");
    s1.wss.publish("t", "from s1");
    await until(() => all.every((c) => c.got.length === 2), "everyone got s1's publish");
    sender.publish("t", "ws.publish on s1"); // everyone but the sender
    await until(() => c2.got.length === 3 && c3.got.length === 3, "the others got ws.publish");
    for (const c of [c2, c3]) expect(texts(c)).toEqual(["from the other process", "from s1", "ws.publish on s1"]);
    expect(texts(c1)).toEqual(["from the other process", "from s1"]);
    // s1's last subscriber leaves: s2's still gets the other process's messages.
    c1.ws.close();
    await until(() => s1.wss.subscriberCount("t") === 0, "c1's subscription ended");
    other.wss.publish("t", "after s1 emptied");
    await until(() => c2.got.length === 4, "s2's subscriber still gets remote publishes");
    expect(texts(c2)[3]).toBe("after s1 emptied");
    expect(texts(c1)).toEqual(["from the other process", "from s1"]);
  });

  it("servers made and dropped in a loop with one broker leave nothing behind (heap after GC)", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const shared = await broker();
    const live = await server({ broker: shared });
    const c = await client(live);
    await shared.whenConnected();
    const heap = async () => {
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10)); // finalizers run between turns
      }
      return process.memoryUsage().heapUsed;
    };
    const N = 100_000;
    const before = await heap();
    for (let i = 0; i < N; i++) {
      new WebSocketServer({ noServer: true, broker: shared }).close();
      if (i % 10_000 === 0) await new Promise((r) => setImmediate(r));
    }
    const perServer = ((await heap()) - before) / N;
    // Before the fix: 59 B per server stayed (the hub's references to collected servers); now ~1 B.
    expect(perServer).toBeLessThan(15);
    // The server kept still gets the other processes' messages.
    const other = await server({ broker: await broker() });
    other.wss.publish("t", "after the loop");
    await until(() => c.got.length === 1, "the live server's subscriber got the remote publish");
    expect(String(c.got[0])).toBe("after the loop");
  });
});
