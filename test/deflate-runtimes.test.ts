// permessage-deflate failures over real TCP, on every engine × runtime: our echo servers on Node,
// Deno and Bun (test/fixtures/deflate-server.mjs) get corrupt compressed data (inconsistent data:
// 1007, RFC 6455 §7.4.1) and a decompression bomb past maxMessageSize (1009), with the engine from
// the server's own bundle and from another one (whose error classes are other copies).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { Socket } from "node:net";
import { deflateRawSync } from "node:zlib";
import { RUNTIMES } from "./helpers/runtimes.js";
import WS from "ws";
import { frame, KEY } from "./helpers/frames.js";

const ROOT = join(import.meta.dirname, "..");

/** Starts the fixture on `runtime`; resolves to each server's port and engine name, by "<engine> <origin>". */
function startServers(runtime: string): Promise<{ proc: ChildProcess; servers: Map<string, { port: number; engine: string }> }> {
  const [cmd, ...pre] = RUNTIMES[runtime]!;
  const proc = spawn(cmd!, [...pre, "test/fixtures/deflate-server.mjs"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let seen = "";
    proc.stdout!.on("data", (d) => {
      seen += d;
      if (!seen.includes("ready")) return;
      const servers = new Map<string, { port: number; engine: string }>();
      for (const m of seen.matchAll(/^(\w+ \w+) (\d+) (\S+)$/gm)) servers.set(m[1]!, { port: Number(m[2]), engine: m[3]! });
      resolve({ proc, servers });
    });
    proc.stderr!.on("data", (d) => (seen += d));
    proc.on("exit", (c) => reject(new Error(`${runtime} deflate server exited ${c}: ${seen}`)));
  });
}

/** Opens with permessage-deflate, checks compressed echoes, writes `payload` as a compressed binary frame; the close code (or what came instead). */
async function closeCodeFor(port: number, payload: Uint8Array): Promise<number | string> {
  const ws = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: { threshold: 0 } });
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  expect(ws.extensions).toContain("permessage-deflate");
  // Valid traffic first: it still echoes (with the context kept), then the bad frame fails it.
  for (const m of ["hello", "hello again", "x".repeat(5000)]) {
    ws.send(m);
    const [d] = await new Promise<[Buffer]>((r) => ws.once("message", (...a: [Buffer]) => r(a)));
    expect(d.toString()).toBe(m);
  }
  const outcome = new Promise<number | string>((r) => {
    ws.once("close", (code: number) => r(code));
    ws.once("message", (d: Buffer) => r(`an echo of ${d.length} bytes`));
    setTimeout(() => r("no close within 5 s"), 5000).unref();
  });
  (ws as unknown as { _socket: Socket })._socket.write(frame({ opcode: 2, rsv: 4, payload, key: KEY }));
  const result = await outcome;
  ws.terminate();
  return result;
}

/** Raw deflate payloads (before the 00 00 ff ff the receiver appends, RFC 7692 §7.2.2) that are not valid. */
const invalid: [string, number[]][] = [
  ["a reserved block type (BTYPE=11, BFINAL set)", [0x07]],
  ["a reserved block type (BTYPE=11, BFINAL clear)", [0x06, 0x00]],
  ["a stored block whose NLEN is not the complement of LEN", [0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5]],
  ["garbage (a dynamic block with invalid code lengths)", [...Buffer.from("\x04garbage, not a deflate stream")]],
];

/** 8 KB that inflates to 8 MiB, over the servers' 1 MiB limit. */
const bomb = deflateRawSync(Buffer.alloc(8 << 20), { level: 9 });

describe.each(["node", "deno", "bun"])("deflate failures on a %s server", (runtime) => {
  let proc: ChildProcess;
  let servers: Map<string, { port: number; engine: string }>;
  beforeAll(async () => void ({ proc, servers } = await startServers(runtime)), 30_000);
  afterAll(() => void proc?.kill());

  it("runs the zlib engine where its node:zlib is usable, pako otherwise", () => {
    expect(servers.get("zlib own")!.engine).toBe("node:zlib");
    expect(servers.get("zlib other")!.engine).toBe("node:zlib");
    expect(servers.get("pako own")!.engine).toBe("pako");
  });

  describe.each(["zlib own", "zlib other", "pako own", "pako other"])("engine: %s bundle", (combo) => {
    it.each(invalid)("fails %s with 1007", async (_n, bytes) => {
      expect(await closeCodeFor(servers.get(combo)!.port, Uint8Array.from(bytes))).toBe(1007);
    });

    it("fails a decompression bomb with 1009", async () => {
      expect(await closeCodeFor(servers.get(combo)!.port, bomb)).toBe(1009);
    });
  });
});
