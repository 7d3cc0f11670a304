// ConnectionDriver (src/adapters/driver.ts) on its own: a real Connection, a fake Transport that
// records what it is asked to do, and fake timers (the Connection reads the fake time through the
// clock it is given). Only the driver's public methods and their visible effects are used: writes,
// events, pause/resume calls, end/destroy, and what happens when fake time is advanced.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Connection, type ConnectionOptions } from "../src/protocol/connection.js";
import type { ConnectionEvent } from "../src/protocol/events.js";
import { ConnectionDriver, type DriverLimits, type Transport } from "../src/adapters/driver.js";
import { StalledPeerError } from "../src/adapters/progress-watch.js";
import { timerGrain } from "../src/adapters/timer-wheel.js";
import { concat, frame, KEY } from "./helpers/frames.js";

/** A transport that records everything and whose congestion and backlog the test sets. */
class FakeTransport implements Transport {
  /** One entry per write() call: the frames it carried (see framesIn()). */
  writes: string[][] = [];
  /** The `done` callbacks write() was given, in order. */
  dones: ((err?: Error | null) => void)[] = [];
  pauses: boolean[] = [];
  ended = 0;
  destroyed = 0;
  /** What write() returns is !congested. */
  congested = false;
  /** What pending() reports: bytes written but not yet taken by the peer. */
  backlog = 0;
  /** A shared log of transport calls, for ordering against other things. */
  log: string[] = [];
  constructor(
    readonly reportsWrites = true,
    readonly vectored = true,
  ) {}
  write(chunks: Uint8Array[], done?: (err?: Error | null) => void): boolean {
    this.writes.push(framesIn(concat(...chunks)));
    this.log.push("write");
    if (done) this.dones.push(done);
    return !this.congested;
  }
  consumed(): boolean {
    return this.backlog === 0;
  }
  pending(): number {
    return this.backlog;
  }
  pauseReading(paused: boolean): void {
    this.pauses.push(paused);
  }
  end(): void {
    this.ended++;
    this.log.push("end");
  }
  destroy(): void {
    this.destroyed++;
    this.log.push("destroy");
  }
}

/** Our (server) frames: "text:hello", "binary:3B", "ping", "pong:x", "close:1000". */
function framesIn(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; ) {
    const op = bytes[i]! & 15;
    let len = bytes[i + 1]! & 127;
    i += 2;
    if (len === 126) (len = (bytes[i]! << 8) | bytes[i + 1]!), (i += 2);
    else if (len === 127) (len = Number(new DataView(bytes.buffer, bytes.byteOffset + i).getBigUint64(0))), (i += 8);
    const p = bytes.subarray(i, i + len);
    i += len;
    const text = new TextDecoder().decode(p);
    if (op === 1) out.push(`text:${text}`);
    else if (op === 2) out.push(`binary:${len}B`);
    else if (op === 8) out.push(len >= 2 ? `close:${(p[0]! << 8) | p[1]!}` : "close");
    else if (op === 9 || op === 10) out.push(`${op === 9 ? "ping" : "pong"}${len ? `:${text}` : ""}`);
    else out.push(`opcode ${op}`);
  }
  return out;
}

/** Frames from the client (masked). */
const text = (s: string) => frame({ opcode: 1, payload: s, key: KEY });
const closeFrame = (code: number) => frame({ opcode: 8, payload: Uint8Array.of(code >> 8, code & 0xff), key: KEY });
const pong = () => frame({ opcode: 10, key: KEY });

/** Lets queued microtasks (the driver's deferred flushes and callbacks) run; setImmediate is real. */
const settle = () => new Promise<void>((r) => setImmediate(r));

const clock = { now: () => Date.now() };

/** Deadlines share one timer wheel and run up to their grain late (never early): ms to let `delay`'s pass. */
const late = (delay: number) => timerGrain(delay);

/** Every driver a test made: closed after it, so the shared wheel holds nothing into the next test. */
const made: ConnectionDriver[] = [];

/** Events as short strings: "message:hi", "closing:1000", "close:1006", "error:WS_ERR_…". */
function label(ev: ConnectionEvent): string {
  if (ev.type === "message") return `message:${typeof ev.data === "string" ? ev.data : `${ev.data.length}B`}`;
  if (ev.type === "closing" || ev.type === "close") return `${ev.type}:${ev.code}`;
  if (ev.type === "error") return `error:${ev.error.code}`;
  return ev.type;
}

interface Setup {
  conn: Connection;
  driver: ConnectionDriver;
  t: FakeTransport;
  events: string[];
  errors: Error[];
}

/** An open server connection under a driver; `onEvent` runs after each event is recorded. */
function setup(
  options: { conn?: ConnectionOptions; limits?: DriverLimits; transport?: FakeTransport; onEvent?: (ev: ConnectionEvent, s: Setup) => void } = {},
): Setup {
  const conn = Connection.open("server", { clock, ...options.conn });
  const t = options.transport ?? new FakeTransport();
  const s = { conn, t, events: [] as string[], errors: [] as Error[] } as Setup;
  s.driver = new ConnectionDriver(
    {
      conn,
      transport: t,
      onEvent: (ev) => {
        s.events.push(label(ev));
        if (ev.type === "error") s.errors.push(ev.error);
        options.onEvent?.(ev, s);
      },
    },
    options.limits,
  );
  made.push(s.driver);
  s.driver.pump(); // as the adapters do: dispatches 'open'
  return s;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 1_000_000 });
});
afterEach(() => {
  for (const d of made.splice(0)) d.transportClosed();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("writes", () => {
  it("everything the listeners send during one read's dispatch leaves in one write, after the dispatch", () => {
    const s = setup({
      onEvent: (ev, { driver }) => {
        if (ev.type !== "message") return;
        driver.send(`re:${ev.data as string}`);
        driver.ping("p");
        // Nothing is written while the dispatch runs.
        expect(s.t.writes).toEqual([]);
      },
    });
    s.driver.receive(concat(text("a"), text("b"), text("c")));
    expect(s.events).toEqual(["open", "message:a", "message:b", "message:c"]);
    expect(s.t.writes).toEqual([["text:re:a", "ping:p", "text:re:b", "ping:p", "text:re:c", "ping:p"]]);
  });

  it("sends made outside a dispatch are written together once the current task is done", async () => {
    const s = setup();
    s.driver.send("x");
    s.driver.send(Uint8Array.of(1, 2, 3));
    s.driver.pong("q");
    expect(s.t.writes).toEqual([]);
    await settle();
    expect(s.t.writes).toEqual([["text:x", "binary:3B", "pong:q"]]);
    s.driver.send("y");
    await settle();
    expect(s.t.writes).toEqual([["text:x", "binary:3B", "pong:q"], ["text:y"]]);
  });

  it("a transport that reports writes runs each callback when its write completes, with the write's error", async () => {
    const s = setup();
    const calls: string[] = [];
    s.driver.send("one", {}, (err) => calls.push(`one:${err?.message ?? "ok"}`));
    s.driver.send("two", {}, (err) => calls.push(`two:${err?.message ?? "ok"}`));
    await settle();
    expect(s.t.writes).toEqual([["text:one", "text:two"]]);
    expect(calls).toEqual([]); // not before the transport says so
    s.t.dones[0]!();
    expect(calls).toEqual(["one:ok", "two:ok"]);
    s.driver.send("three", {}, (err) => calls.push(`three:${err?.message ?? "ok"}`));
    await settle();
    s.t.dones[1]!(new Error("EPIPE"));
    expect(calls).toEqual(["one:ok", "two:ok", "three:EPIPE"]);
  });

  it("a transport that does not report writes gets no callback; the driver runs them right after the write", async () => {
    const s = setup({ transport: new FakeTransport(false) });
    const calls: string[] = [];
    s.driver.send("one", {}, (err) => calls.push(`one:${err?.message ?? "ok"}`));
    await settle();
    expect(s.t.writes).toEqual([["text:one"]]);
    expect(s.t.dones).toEqual([]);
    expect(calls).toEqual(["one:ok"]);
  });

  it("callbacks of sends on a connection that is not open run with an error, and nothing is written", async () => {
    const s = setup();
    s.driver.close(1000);
    await settle();
    expect(s.t.writes).toEqual([["close:1000"]]);
    const calls: string[] = [];
    expect(s.driver.send("late", {}, (err) => calls.push(`send:${err?.message ?? "ok"}`))).toBe(false);
    s.driver.ping("late", (err) => calls.push(`ping:${err?.message ?? "ok"}`));
    await settle();
    expect(calls).toEqual(["send:WebSocket is not open", "ping:WebSocket is not open"]);
    expect(s.t.writes).toEqual([["close:1000"]]);
  });

  it("callbacks of sends queued when the transport closes run with an error instead of being written", async () => {
    const s = setup();
    const calls: string[] = [];
    s.driver.send("queued", {}, (err) => calls.push(err?.message ?? "ok"));
    s.driver.transportClosed();
    await settle();
    expect(s.t.writes).toEqual([]);
    expect(calls).toEqual(["WebSocket is not open"]);
    expect(s.events).toEqual(["open", "close:1006"]);
  });
});

describe("backpressure", () => {
  it("a congested write pauses reading; drained() resumes it", async () => {
    const s = setup();
    s.t.congested = true;
    s.driver.send("big");
    await settle();
    expect(s.t.pauses).toEqual([true]);
    expect(s.driver.readingPaused).toBe(true);
    expect(s.driver.isPaused).toBe(false);
    s.t.congested = false;
    s.driver.drained();
    expect(s.t.pauses).toEqual([true, false]);
    expect(s.driver.readingPaused).toBe(false);
  });

  it("drained() does not resume reading the application paused; its resume() does", async () => {
    const s = setup();
    s.t.congested = true;
    s.driver.send("big");
    await settle();
    s.driver.pause();
    s.driver.drained();
    expect(s.t.pauses).toEqual([true, true]);
    expect(s.driver.readingPaused).toBe(true);
    s.driver.resume();
    expect(s.t.pauses).toEqual([true, true, false]);
    expect(s.driver.readingPaused).toBe(false);
  });

  it("resume() does not restart reading while the transport is still congested", async () => {
    const s = setup();
    s.driver.pause();
    s.t.congested = true;
    s.driver.send("big");
    await settle();
    s.driver.resume();
    expect(s.t.pauses).not.toContain(false);
    expect(s.driver.readingPaused).toBe(true);
    s.driver.drained();
    expect(s.t.pauses.at(-1)).toBe(false);
    expect(s.driver.readingPaused).toBe(false);
  });
});

describe("pause and resume", () => {
  it("messages that arrive while paused are held, and delivered in order on resume", async () => {
    const s = setup();
    s.driver.pause();
    s.driver.receive(concat(text("a"), text("b")));
    s.driver.receive(text("c"));
    expect(s.events).toEqual(["open"]);
    s.driver.resume();
    await settle();
    expect(s.events).toEqual(["open", "message:a", "message:b", "message:c"]);
  });

  it("what follows a held message waits behind it, and the end of the connection delivers them all first", async () => {
    const s = setup();
    s.driver.pause();
    s.driver.receive(concat(text("a"), closeFrame(1000)));
    expect(s.events).toEqual(["open"]);
    // The close reply goes out though the application is paused.
    expect(s.t.writes).toEqual([["close:1000"]]);
    s.driver.transportClosed();
    expect(s.events).toEqual(["open", "message:a", "closing:1000", "close:1000"]);
  });
});

describe("a throwing listener", () => {
  it("does not stop the other events, the close reply or the write, and is rethrown afterwards in a microtask", async () => {
    // Microtasks the driver queues run through this wrapper, which keeps what they throw.
    const rethrown: unknown[] = [];
    const real = globalThis.queueMicrotask;
    vi.spyOn(globalThis, "queueMicrotask").mockImplementation((cb) =>
      real(() => {
        try {
          cb();
        } catch (e) {
          rethrown.push(e);
          s.t.log.push("rethrow");
        }
      }),
    );
    const boom = new Error("listener boom");
    const s = setup({
      onEvent: (ev, { driver }) => {
        if (ev.type !== "message") return;
        driver.send(`re:${ev.data as string}`);
        if (ev.data === "a") throw boom;
      },
    });
    expect(() => s.driver.receive(concat(text("a"), text("b"), closeFrame(1000)))).not.toThrow();
    expect(s.events).toEqual(["open", "message:a", "message:b", "closing:1000"]);
    expect(s.t.writes).toEqual([["text:re:a", "text:re:b", "close:1000"]]);
    expect(s.t.ended).toBe(1);
    expect(rethrown).toEqual([]);
    await settle();
    expect(rethrown).toEqual([boom]);
    expect(s.t.log).toEqual(["write", "end", "rethrow"]);
  });
});

describe("a peer that stops reading", () => {
  const limits = { maxPendingBytes: 100, stallTimeout: 1000 };

  it("is dropped with StalledPeerError after stallTimeout without taking a byte, when more than maxPendingBytes are queued", async () => {
    const s = setup({ limits });
    s.t.backlog = 500;
    s.driver.send("x".repeat(500));
    await settle();
    vi.advanceTimersByTime(999);
    expect(s.t.destroyed).toBe(0);
    vi.advanceTimersByTime(late(1000)); // the rest of stallTimeout, and the grain
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toBeInstanceOf(StalledPeerError);
    expect(s.errors[0]).toMatchObject({ code: "WS_ERR_PEER_NOT_READING" });
    expect(s.t.destroyed).toBe(1);
  });

  it("is kept while it takes bytes, however slowly, and dropped once it stops", async () => {
    const s = setup({ limits });
    s.t.backlog = 500;
    s.driver.send("x".repeat(500));
    await settle();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(900);
      s.t.backlog -= 10; // a few bytes taken in each period
      vi.advanceTimersByTime(100);
    }
    expect(s.t.destroyed).toBe(0);
    expect(s.errors).toEqual([]);
    vi.advanceTimersByTime(1000); // no progress in this one
    expect(s.t.destroyed).toBe(1);
    expect(s.errors[0]).toBeInstanceOf(StalledPeerError);
  });

  it("is not watched below maxPendingBytes while open, nor once everything drained", async () => {
    const s = setup({ limits });
    s.t.backlog = 50;
    s.driver.send("x".repeat(50));
    await settle();
    vi.advanceTimersByTime(10_000);
    expect(s.t.destroyed).toBe(0);
    s.t.backlog = 500;
    s.driver.send("x".repeat(450));
    await settle();
    vi.advanceTimersByTime(500);
    s.t.backlog = 0;
    s.driver.drained();
    vi.advanceTimersByTime(10_000);
    expect(s.t.destroyed).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it("is watched while we are closing, whatever the backlog", async () => {
    const s = setup({ limits, conn: { closeTimeout: 60_000 } });
    s.t.backlog = 10;
    s.driver.close(1000);
    await settle();
    vi.advanceTimersByTime(1000);
    expect(s.t.destroyed).toBe(1);
    expect(s.errors[0]).toBeInstanceOf(StalledPeerError);
  });
});

describe("ending the transport", () => {
  it("a transport that never reports its close after end() is destroyed when the linger time (5 s) is over", async () => {
    const s = setup();
    s.driver.receive(closeFrame(1000));
    expect(s.t.writes).toEqual([["close:1000"]]);
    expect(s.t.ended).toBe(1);
    vi.advanceTimersByTime(4999);
    expect(s.t.destroyed).toBe(0);
    vi.advanceTimersByTime(late(5000));
    expect(s.t.destroyed).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(s.t.destroyed).toBe(1);
  });

  it("one that closes in time is not destroyed", async () => {
    const s = setup();
    s.driver.receive(closeFrame(1000));
    vi.advanceTimersByTime(100);
    s.driver.transportClosed();
    expect(s.events).toEqual(["open", "closing:1000", "close:1000"]);
    vi.advanceTimersByTime(60_000);
    expect(s.t.destroyed).toBe(0);
  });

  it("one still taking the bytes queued before the end is given the time it needs", async () => {
    const s = setup({ limits: { stallTimeout: 3000 } });
    s.t.backlog = 1000;
    s.driver.send("x".repeat(1000));
    s.driver.receive(closeFrame(1000));
    expect(s.t.ended).toBe(1);
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(2000);
      s.t.backlog -= 100;
    }
    expect(s.t.destroyed).toBe(0); // 12 s, past two linger periods, still making progress
    vi.advanceTimersByTime(6000); // then none for a whole stallTimeout
    expect(s.t.destroyed).toBeGreaterThan(0);
    expect(s.errors[0]).toBeInstanceOf(StalledPeerError);
  });
});

describe("timers", () => {
  it("the close timeout of a close frame queued behind a big send starts when the transport drains", async () => {
    const s = setup({ conn: { closeTimeout: 1000 }, limits: { stallTimeout: 60_000 } });
    s.t.backlog = 1 << 20;
    s.driver.send(new Uint8Array(1 << 20));
    s.driver.close(1000);
    await settle();
    expect(s.t.writes).toEqual([["binary:1048576B", "close:1000"]]);
    // Far past the close timeout, but the close frame has not left yet: the connection stays.
    vi.advanceTimersByTime(5000);
    expect(s.t.ended).toBe(0);
    s.t.backlog = 0;
    s.driver.drained();
    // The timeout counts from here, not from close().
    vi.advanceTimersByTime(999);
    expect(s.t.ended).toBe(0);
    vi.advanceTimersByTime(late(1000));
    expect(s.t.ended).toBe(1);
  });

  it("a close answered in time ends without waiting for the timeout", async () => {
    const s = setup({ conn: { closeTimeout: 1000 } });
    s.driver.close(1000);
    await settle();
    vi.advanceTimersByTime(500);
    s.driver.receive(closeFrame(1000));
    expect(s.t.ended).toBe(1);
    expect(s.events).toEqual(["open", "closing:1000"]);
  });

  it("pingInterval sends a keepalive ping after that long without receiving; anything received postpones it", async () => {
    const s = setup({ conn: { pingInterval: 1000, pongTimeout: 500 } });
    vi.advanceTimersByTime(999);
    expect(s.t.writes).toEqual([]);
    vi.advanceTimersByTime(late(1000));
    expect(s.t.writes).toEqual([["ping"]]);
    s.driver.receive(pong());
    expect(s.events).toEqual(["open", "pong"]);
    vi.advanceTimersByTime(600); // past pongTimeout from the ping: answered, so no failure
    s.driver.receive(text("hi"));
    vi.advanceTimersByTime(999);
    expect(s.t.writes).toEqual([["ping"]]);
    vi.advanceTimersByTime(late(1000));
    expect(s.t.writes).toEqual([["ping"], ["ping"]]);
    expect(s.t.ended).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it("a keepalive ping without an answer within pongTimeout fails the connection", async () => {
    const s = setup({ conn: { pingInterval: 1000, pongTimeout: 500 } });
    vi.advanceTimersByTime(1000);
    expect(s.t.writes).toEqual([["ping"]]);
    vi.advanceTimersByTime(499);
    expect(s.t.ended).toBe(0);
    vi.advanceTimersByTime(late(500));
    expect(s.errors.map((e) => (e as Error & { code: string }).code)).toEqual(["WS_ERR_PONG_TIMEOUT"]);
    expect(s.t.ended).toBe(1);
    s.driver.transportClosed();
    expect(s.events.at(-1)).toBe("close:1006");
  });

  it("the transport's close clears every timer (close timeout, stall watch, linger)", async () => {
    const s = setup({ conn: { closeTimeout: 1000 }, limits: { stallTimeout: 1000 } });
    s.t.backlog = 10;
    s.driver.close(1000);
    await settle();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    s.driver.transportClosed();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(s.t.writes).toEqual([["close:1000"]]);
    expect(s.t.ended + s.t.destroyed).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it("the transport's close after end() clears the linger timer", async () => {
    const s = setup();
    s.driver.receive(closeFrame(1000));
    expect(s.t.ended).toBe(1);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    s.driver.transportClosed();
    expect(vi.getTimerCount()).toBe(0);
  });
});
