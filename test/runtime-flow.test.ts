// Flow control on the Deno and Bun adapters, over real sockets: a client that sends a lot before it
// reads, and a server whose peer stops reading. Both found by an outside attack (red without the fixes).
import { describe, expect, it } from "vitest";
import net, { type AddressInfo } from "node:net";
import { WebSocketServer } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";
import { spawn } from "node:child_process";
import { output, run, RUNTIMES } from "./helpers/runtimes.js";
import WS from "ws";
import { message, mismatch } from "./fixtures/mixed-sizes.mjs";
import { frame, KEY, readSlowly } from "./helpers/frames.js";

/** Starts `script` on `runtime` with a free --port and waits (up to 30 s) until it prints "listening". */
async function listening(runtime: string, script: string, args: string[] = []) {
  const port = await freePort();
  const proc = run(runtime, script, ["--port", String(port), ...args]);
  const printed = output(proc);
  const seen = { text: "" };
  proc.stdout!.on("data", (d) => (seen.text += d));
  for (let i = 0; i < 300 && !seen.text.includes("listening"); i++) await new Promise((r) => setTimeout(r, 100));
  return { port, proc, printed, seen };
}

const freePort = () => new Promise<number>((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as AddressInfo).port; s.close(() => r(p)); }); });

describe.each(["deno", "bun"])("the %s client", (runtime) => {
  // Both ends stopped reading while their writes waited (the server for the client to read its
  // echoes, the client for the server to read its sends): nothing ever came back. A client reads on.
  it("pipelining 40 x 1 MiB to an echo server gets all 40 back", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
    try {
      const { out } = await output(run(runtime, "test/fixtures/pipelined-client.mjs", ["--url", `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, "--count", "40"]));
      expect(out).toContain("echoed 40");
    } finally {
      await closeServer(wss);
    }
  });
});

// Messages of mixed sizes sent all at once come back whole and in order: the transports queue what
// comes while a write is under way (copying small chunks into shared write buffers, writing large
// ones as they are), and the order across those two kinds must hold.
describe.each(["deno", "bun"])("mixed sizes pipelined through the %s transport", (runtime) => {
  const COUNT = 120;
  it("as a client: all echoed whole and in order", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
    try {
      const { out } = await output(run(runtime, "test/fixtures/mixed-sizes.mjs", ["--url", `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, "--count", String(COUNT)]));
      expect(out).toContain(`mixed ok ${COUNT}`);
    } finally {
      await closeServer(wss);
    }
  });

  it("as a server: all echoed whole and in order", async () => {
    const { port, proc, printed } = await listening(runtime, "examples/echo-server.mjs");
    try {
      const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
      let got = 0;
      let bad = "";
      const all = new Promise<void>((resolve) =>
        ws.on("message", (d: Buffer) => {
          bad ||= mismatch(got, d);
          if (++got === COUNT) resolve();
        }),
      );
      for (let i = 0; i < COUNT; i++) ws.send(message(i));
      await Promise.race([all, new Promise((r) => setTimeout(r, 15_000))]);
      ws.terminate();
      expect(bad).toBe("");
      expect(got).toBe(COUNT);
    } finally {
      proc.kill();
      await printed;
    }
  });
});

describe.each(["node", "deno", "bun"])("a %s server's maxPendingBytes and stallTimeout", (runtime) => {
  // Deno's and Bun's serve() took the options but never gave them to the driver: a peer that stopped
  // reading was dropped after the default 30 s, or on Deno's raw door not at all.
  it("drop a peer that stops reading after stallTimeout", async () => {
    const { port, proc, printed, seen } = await listening(runtime, "test/fixtures/stall-server.mjs");
    try {
      const sock = net.connect(port, "127.0.0.1");
      sock.on("error", () => {});
      sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      let n = 0;
      sock.on("data", (d) => {
        if ((n += d.length) > 100_000) sock.pause();
      });
      // Dropped after 1 s without progress (and the wheel's grain): well within 15 s, far from 30.
      // (The paused socket itself cannot see the server let go: it reads nothing, not even the end.)
      for (let i = 0; i < 150 && !seen.text.includes("dropped"); i++) await new Promise((r) => setTimeout(r, 100));
      sock.destroy();
      expect(seen.text).toContain("dropped WS_ERR_PEER_NOT_READING 1006");
    } finally {
      proc.kill();
      await printed;
    }
  });
});

describe.each([
  ["node", ""],
  ["deno", ""],
  ["bun", ""],
  ["deno", "--fetch"],
  ["bun", "--fetch"],
])("a %s server %s closing behind one large send to a slow reader", (runtime, door) => {
  // The peer takes every byte, slowly (a 20 ms pause after each read: at most ~3 MB/s), while the
  // server closes behind a 24 MB message: it must not be dropped for stalling, since it takes bytes
  // all along. Deno's transport counted a chunk as taken only once all of it was written, so the
  // progress watch saw none for the whole message and dropped the peer after stallTimeout (2 s);
  // Node's did too (writableLength counts the write in flight whole; now libuv's writeQueueSize).
  // Bun's write() returns what it took, so its pending() moves with each drain. With --fetch (the
  // runtime's node:http door) the socket is a node:net-like Duplex without a libuv handle: its
  // writableLength stood at the whole message until it was out, and the peer was dropped after
  // 2 s on both runtimes (found by an outside attack); now it is handed the message in slices.
  it("sends it all, then the close frame", async () => {
    const { port, proc, printed, seen } = await listening(runtime, "test/fixtures/big-send-close-server.mjs", door ? [door] : []);
    try {
      const sock = net.connect(port, "127.0.0.1");
      sock.on("error", () => {});
      sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      const closed = new Promise<void>((r) => sock.on("close", () => r()));
      const read = readSlowly(sock);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 30_000))]);
      sock.destroy();
      for (let i = 0; i < 50 && !seen.text.includes("closed"); i++) await new Promise((r) => setTimeout(r, 100));
      // 101 response (129 B), the message (24 MB and a 10-byte header), the close frame (4 B).
      expect({ n: read.n, tail: read.tail, log: seen.text.split("\n")[1] }).toEqual({ n: 129 + 10 + 24_000_000 + 4, tail: "880203e8", log: "closed undefined 1000" });
    } finally {
      proc.kill();
      await printed;
    }
  });
});

describe.each(["node", "deno", "bun"])("a %s server whose peers reset their connections before they are accepted", (runtime) => {
  // Deno's accept() throws (NotConnected) for a connection reset while it waited in the backlog; the
  // raw door's accept loop ended there: the port stopped accepting for good (connections piled up
  // unanswered in the backlog), and a process serving nothing else exited, silently, with code 0.
  it("keeps accepting: 5 rounds of 50 handshakes reset at once, each followed by an echo", async () => {
    const { port, proc, printed } = await listening(runtime, "examples/echo-server.mjs");
    const HEAD = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    try {
      const echoed: string[] = [];
      for (let round = 0; round < 5; round++) {
        await Promise.all(
          Array.from({ length: 50 }, () =>
            new Promise<void>((resolve) => {
              const s = net.connect(port, "127.0.0.1", () => (s.write(HEAD), s.resetAndDestroy(), resolve()));
              s.on("error", () => resolve());
            }),
          ),
        );
        const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
        echoed.push(
          await Promise.race([
            new Promise<string>((resolve) => {
              ws.once("open", () => ws.send(`round ${round}`));
              ws.once("message", (d) => resolve(String(d)));
              ws.once("error", (e) => resolve(`error ${e.message}`));
            }),
            new Promise<string>((r) => setTimeout(() => r("no answer within 5 s"), 5000)),
          ]),
        );
        ws.terminate();
      }
      expect(echoed).toEqual([0, 1, 2, 3, 4].map((r) => `round ${r}`));
    } finally {
      proc.kill();
      await printed;
    }
  }, 40_000);
});

describe.each(["node", "deno", "bun"])("a %s server whose 'drain' listener throws", (runtime) => {
  // Deno's transport called the driver's drained() inside the try that catches write errors: the
  // listener's exception was taken for a failed write, the connection closed (1006) and the
  // exception swallowed. Bun swallowed it too. Node reports it and the connection carries on.
  it("keeps the connection and reports the exception", async () => {
    const { port, proc, printed, seen } = await listening(runtime, "test/fixtures/drain-throw-server.mjs");
    try {
      const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      // The server's send must wait for 'drain': the client reads nothing for its first 300 ms, and
      // 16 MiB is more than the loopback buffers take (with a 4 MiB send read at once, Bun's write
      // often took all of it, no 'drain' came, and the test failed as "not reported").
      ws.once("open", () => {
        ws.pause();
        setTimeout(() => ws.resume(), 300);
      });
      const got: number[] = [];
      ws.on("message", (d: Buffer) => got.push(d.length));
      let closed: number | "open" = "open";
      ws.once("close", (code: number) => (closed = code));
      // Bounded: until both messages came and the exception was printed (or the socket closed), at
      // most 10 s (a fixed 2 s wait was too short on a loaded machine: reported false).
      const done = () => closed !== "open" || (got.length >= 2 && seen.text.includes("uncaught drain boom"));
      for (const t0 = Date.now(); !done() && Date.now() - t0 < 10_000; ) await new Promise((r) => setTimeout(r, 50));
      // A close that comes late is still caught: the socket must stay open a little longer.
      await new Promise((r) => setTimeout(r, 300));
      ws.terminate();
      expect({ got, closed, reported: seen.text.includes("uncaught drain boom") }).toEqual({ got: [16 << 20, 5], closed: "open", reported: true });
    } finally {
      proc.kill();
      await printed;
    }
  });
});

describe.each(["deno", "bun"])("close() of serve() on %s when a socket's 'close' listener throws", (runtime) => {
  // The application's 'close' listener threw before the one close() had added to wait for the
  // socket: the socket's emitter stopped at the exception, and close() never resolved.
  it("still resolves, and the exception is reported", async () => {
    const { port, proc, printed, seen } = await listening(runtime, "test/fixtures/throwing-close-server.mjs");
    try {
      const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
      ws.send("close the server");
      const code = await Promise.race([new Promise((r) => ws.once("close", (c) => r(c))), new Promise((r) => setTimeout(() => r("open"), 5000))]);
      for (let i = 0; i < 30 && !seen.text.includes("server closed"); i++) await new Promise((r) => setTimeout(r, 100));
      ws.terminate();
      expect({ code, closed: seen.text.includes("server closed"), reported: seen.text.includes("uncaught close boom") }).toEqual({ code: 1001, closed: true, reported: true });
    } finally {
      proc.kill();
      await printed;
    }
  });
});

// reusePort (an addition, as Bun.serve's and Deno.serve's): two processes serve one port, the kernel
// spreading the connections among them; without it the second process cannot bind.
describe.each(["deno", "bun"])("serve({ reusePort }) on %s", (runtime) => {
  it.each(runtime === "bun" ? [["raw"]] : [["raw"], ["fetch"]])("two processes share one port (%s door)", async (door) => {
    const port = await freePort();
    const [cmd, ...pre] = RUNTIMES[runtime]!;
    const flags = runtime === "deno" ? ["--unstable-net"] : [];
    const procs = [0, 1].map(() => spawn(cmd!, [...pre, ...flags, "test/fixtures/reuse-port-server.mjs", "--port", String(port), ...(door === "fetch" ? ["--fetch"] : [])], { stdio: ["ignore", "pipe", "pipe"] }));
    const printed = procs.map((p) => output(p));
    try {
      let seen = "";
      for (const p of procs) p.stdout!.on("data", (d) => (seen += d));
      for (let i = 0; i < 300 && (seen.match(/listening pid/g) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect((seen.match(/listening pid/g) ?? []).length).toBe(2);
      const pids = new Set<string>();
      for (let i = 0; i < 40 && pids.size < 2; i++) {
        const ws = new WS(`ws://127.0.0.1:${port}`);
        pids.add(await new Promise<string>((resolve, reject) => (ws.once("message", (d) => resolve(String(d))), ws.once("error", reject))));
        ws.terminate();
      }
      expect(pids.size).toBe(2);
    } finally {
      for (const p of procs) p.kill();
      await Promise.all(printed);
    }
  });
});

it("serve({ reusePort, fetch }) on Bun throws at once: Bun's node:http would bind without SO_REUSEPORT", async () => {
  const port = await freePort();
  const [cmd, ...pre] = RUNTIMES.bun!;
  const { out } = await output(spawn(cmd!, [...pre, "test/fixtures/reuse-port-server.mjs", "--port", String(port), "--fetch"], { stdio: ["ignore", "pipe", "pipe"] }));
  expect(out).toContain("reusePort needs the WebSocket-only door on Bun");
});

describe.each(["deno", "bun"])("a %s client terminated before its connection is up", (runtime) => {
  // Deno: terminate() closed nothing while Deno.connect() was pending (there was no Deno.Conn yet);
  // the connection was then made anyway, the queued upgrade request written, and the socket kept
  // open until the process exited, though the application had been told 'close' already.
  it("makes no connection behind the application's back: nothing sent, nothing left open", async () => {
    const COUNT = 8;
    let open = 0;
    let received = 0;
    const server = net.createServer((s) => {
      open++;
      s.on("data", (d) => (received += d.length));
      s.on("error", () => {});
      s.on("close", () => open--);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const proc = run(runtime, "test/fixtures/terminate-connecting.mjs", ["--url", `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, "--count", String(COUNT), "--linger", "10000"]);
    const printed = output(proc);
    try {
      let seen = "";
      proc.stdout!.on("data", (d) => (seen += d));
      for (let i = 0; i < 300 && !seen.includes("terminated"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(seen).toContain(`terminated ${COUNT}\n`);
      // The client process lives on (--linger): whatever it connected has had 2 s to go away.
      for (let i = 0; i < 20 && open > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect({ open, received }).toEqual({ open: 0, received: 0 });
    } finally {
      proc.kill();
      await printed;
      server.close();
    }
  });
});

describe.each(["node", "deno", "bun"])("a %s echo server whose peer half-closes after its close frame", (runtime) => {
  // The peer sends a burst, its close frame and its FIN, and reads on, slowly (TCP half-close). Deno's raw
  // door closed the socket as soon as it read the FIN, dropping what was still queued for the peer:
  // the last echoes and the close reply (ws, wasmsocket/node and Bun send them all).
  const COUNT = 100;
  const SIZE = 50_000;
  const frames = Array.from({ length: COUNT }, (_, i) => frame({ opcode: 2, payload: new Uint8Array(SIZE).fill(i & 255), key: KEY }));
  const closeFrame = frame({ opcode: 8, payload: Uint8Array.from([0x03, 0xe8]), key: KEY });

  /** One connection: the burst, close and FIN at once; what came back (echoes checked in order). */
  async function halfClose(port: number) {
    const sock = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    // A slow reader: a pause after every read, so the server's writes wait while it reads on.
    sock.on("data", (d: Buffer) => {
      parts.push(d);
      sock.pause();
      setTimeout(() => sock.resume(), 10);
    });
    sock.on("error", () => {});
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    await new Promise((r) => sock.once("connect", r));
    sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    for (const f of frames) sock.write(f);
    sock.write(closeFrame);
    sock.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
    sock.destroy();
    const got = Buffer.concat(parts);
    let at = got.indexOf("\r\n\r\n") + 4;
    let echoed = 0;
    let bad = at > 3 ? "" : "no handshake answer";
    let close: number | undefined;
    while (at + 2 <= got.length && close === undefined) {
      const op = got[at]! & 15;
      let len = got[at + 1]! & 127;
      let h = 2;
      if (len === 126) (len = got.readUInt16BE(at + 2)), (h = 4);
      else if (len === 127) (len = Number(got.readBigUInt64BE(at + 2))), (h = 10);
      if (at + h + len > got.length) break;
      const body = got.subarray(at + h, at + h + len);
      if (op === 2) {
        if (!bad && (len !== SIZE || body.some((b) => b !== (echoed & 255)))) bad = `echo ${echoed} wrong`;
        echoed++;
      } else if (op === 8) close = body.readUInt16BE(0);
      at += h + len;
    }
    return { echoed, bad, close };
  }

  it("still sends every echo, in order, then its close reply (12 connections, 4 at a time)", async () => {
    const port = await freePort();
    const proc = run(runtime, "examples/echo-server.mjs", ["--port", String(port)]);
    const printed = output(proc);
    try {
      let seen = "";
      proc.stdout!.on("data", (d) => (seen += d));
      for (let i = 0; i < 300 && !seen.includes("listening"); i++) await new Promise((r) => setTimeout(r, 100));
      // Each connection lost its end about one time in four on main: 3 rounds of 4 at once.
      const results = [];
      for (let round = 0; round < 3; round++) results.push(...(await Promise.all([0, 1, 2, 3].map(() => halfClose(port)))));
      expect(results).toEqual(Array(12).fill({ echoed: COUNT, bad: "", close: 1000 }));
    } finally {
      proc.kill();
      await printed;
    }
  });
});
