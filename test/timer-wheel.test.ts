// The shared timer wheel (src/adapters/timer-wheel.ts): deadlines in order, never early and at most
// their grain late, on one timeout for the whole process; and over real sockets, that the handshake
// and close timeouts still fire and that open connections with deadlines hold no Timeout each.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket as WsClient } from "ws";
import { WheelTimer, timerGrain } from "../src/adapters/timer-wheel.js";
import { Connection } from "../src/protocol/connection.js";
import { overNetSocket } from "../src/adapters/net-transport.js";
import { WebSocketServer } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";

describe("with fake time", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs every timer in deadline order, never early, at most its grain late, on one timeout", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 5_000_000 });
    const start = Date.now();
    const fired: { i: number; at: number }[] = [];
    // Delays from 1 ms to 40 s, in a scrambled order.
    const delays = Array.from({ length: 400 }, (_, i) => ((i * 7919) % 400) * 100 + (i % 7) + 1);
    const timers = delays.map((_, i) => new WheelTimer(() => fired.push({ i, at: Date.now() })));
    delays.forEach((d, i) => timers[i]!.set(d));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(45_000);
    expect(fired).toHaveLength(delays.length);
    for (const { i, at } of fired) {
      const due = start + delays[i]!;
      expect(at).toBeGreaterThanOrEqual(due);
      expect(at - due).toBeLessThan(Math.max(2, timerGrain(delays[i]!)));
    }
    // Order: by due time, up to the grain of the later one.
    for (let k = 1; k < fired.length; k++) {
      const a = delays[fired[k - 1]!.i]!;
      const b = delays[fired[k]!.i]!;
      expect(a).toBeLessThan(b + timerGrain(b) + 1);
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it("set() moves a timer either way; by() keeps a sooner one; clear() removes it; the last one cleared takes the timeout", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 7_000_000 });
    const log: string[] = [];
    const a = new WheelTimer(() => log.push(`a@${Date.now() - 7_000_000}`));
    const b = new WheelTimer(() => log.push(`b@${Date.now() - 7_000_000}`));
    a.set(10_000);
    a.set(100); // sooner
    b.set(100);
    b.set(20_000); // later
    a.by(50_000); // sooner stays
    vi.advanceTimersByTime(200);
    expect(log).toEqual(["a@100"]);
    a.set(1000);
    a.clear();
    b.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(log).toEqual(["a@100"]);
    // A timer that sets itself again from its callback runs again, later.
    let n = 0;
    const again = new WheelTimer(() => {
      if (++n < 3) again.set(0);
    });
    again.set(5);
    vi.advanceTimersByTime(100);
    expect(n).toBe(3);
  });

  it("a throwing callback does not stop the others; its exception is rethrown afterwards", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 9_000_000 });
    const ran: string[] = [];
    const boom = new Error("boom");
    new WheelTimer(() => { ran.push("x"); throw boom; }).set(10);
    new WheelTimer(() => ran.push("y")).set(10);
    const thrown: unknown[] = [];
    const spy = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((f) => {
      try {
        f();
      } catch (e) {
        thrown.push(e);
      }
    });
    vi.advanceTimersByTime(20);
    spy.mockRestore();
    expect(ran.sort()).toEqual(["x", "y"]);
    expect(thrown).toEqual([boom]);
  });
});

/** Resolves true when `sock` closes within `ms`, false otherwise (bounded). */
function closedWithin(sock: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    sock.once("close", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe("over real sockets", () => {
  it("a handshake that never comes is dropped after handshakeTimeout", async () => {
    const server = net.createServer((socket) => {
      overNetSocket(socket, Connection.server({ handshakeTimeout: 150 })).driver.pump();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const sock = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
      sock.on("error", () => {});
      sock.resume();
      const started = Date.now();
      const closed = await closedWithin(sock, 5000);
      sock.destroy();
      expect(closed).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("a close the peer never answers ends the connection after closeTimeout", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", closeTimeout: 200 });
    wss.on("connection", (ws) => ws.close(1000));
    await new Promise<void>((r) => wss.once("listening", () => r()));
    try {
      const sock = net.connect((wss.address() as AddressInfo).port, "127.0.0.1");
      sock.on("error", () => {});
      const got: Buffer[] = [];
      sock.on("data", (d) => got.push(d)); // reads, never answers the close frame
      sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      const started = Date.now();
      // Our side half-closes (FIN) after closeTimeout; the peer's socket then sees 'end'.
      const ended = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 5000);
        sock.once("end", () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      sock.destroy();
      expect(ended).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      const all = Buffer.concat(got);
      expect(all.toString("latin1")).toMatch(/^HTTP\/1\.1 101 /);
      expect(all.subarray(all.length - 4)).toEqual(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    } finally {
      await closeServer(wss);
    }
  });

  it("500 open connections with keepalive, idle and close deadlines hold no Timeout each", async () => {
    // Live timeouts, counted through wrappers of the real functions (getActiveResourcesInfo() does
    // not list unref'd ones): set and neither fired nor cleared.
    const live = new Set<unknown>();
    const realSet = globalThis.setTimeout;
    const realClear = globalThis.clearTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((f: () => void, ms?: number, ...args: unknown[]) => {
      const h: unknown = realSet(() => {
        live.delete(h);
        f(...(args as []));
      }, ms);
      live.add(h);
      return h;
    }) as typeof setTimeout);
    vi.spyOn(globalThis, "clearTimeout").mockImplementation(((h: unknown) => {
      live.delete(h);
      realClear(h as never);
    }) as typeof clearTimeout);
    const timeouts = () => live.size;
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", pingInterval: 60_000, idleTimeout: 120_000 });
    let open = 0;
    wss.on("connection", () => open++);
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const clients: WsClient[] = [];
    try {
      const before = timeouts();
      for (let i = 0; i < 500; i++) clients.push(new WsClient(url, { perMessageDeflate: false }));
      await Promise.all(clients.map((c) => new Promise((r, j) => (c.once("open", r), c.once("error", j)))));
      for (let i = 0; i < 100 && open < 500; i++) await new Promise((r) => setTimeout(r, 20));
      expect(open).toBe(500);
      // Every server connection has a deadline (the next keepalive ping); close some so that their
      // close timeouts run too.
      let k = 0;
      for (const ws of wss.clients) if (k++ < 50) ws.close(1000);
      expect(timeouts() - before).toBeLessThan(10);
    } finally {
      for (const c of clients) c.terminate();
      await closeServer(wss);
      vi.restoreAllMocks();
    }
  });
});
