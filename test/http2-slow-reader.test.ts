// A peer of a WebSocket over HTTP/2 (RFC 8441) that reads slowly is not dropped as "not reading"
// while it takes bytes, and one that takes none is. node:http2's own client reads the stream (the
// WebSocket bytes, unmasked from the server) over real loopback h2c; every wait is bounded.
import { afterEach, describe, expect, it } from "vitest";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "../src/node.js";
import { closeServer } from "./helpers/servers.js";
import { readSlowly } from "./helpers/frames.js";
import { h2session } from "./helpers/h2-client.js";

const SIZE = 4_000_000;

async function bigSendCloseServer(size = SIZE, stallTimeout = 2000): Promise<{ port: number; log: string[]; stop: () => Promise<void> }> {
  const server = http2.createServer();
  const wss = new WebSocketServer({ server, stallTimeout, perMessageDeflate: false });
  const log: string[] = [];
  wss.on("connection", (ws) => {
    let code: string | undefined;
    ws.on("error", (e: Error & { code?: string }) => (code = e.code));
    ws.on("close", (c) => log.push(`closed ${code} ${c}`));
    ws.send(new Uint8Array(size).fill(7));
    ws.close(1000);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const stop = async () => {
    for (const c of wss.clients) c.terminate();
    await closeServer(wss);
    await new Promise((r) => server.close(r));
  };
  return { port: (server.address() as AddressInfo).port, log, stop };
}

function connect(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const stream = session.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": "/", "sec-websocket-version": "13" }, { endStream: false });
  stream.on("error", () => undefined);
  return stream;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 50) await new Promise((r) => setTimeout(r, 50));
}

describe("an HTTP/2 server closing behind one large send", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  // 4 MB to a reader pausing 20 ms after each read (~0.7 MB/s: 16 KiB DATA frames): the
  // Http2Stream counted the whole message as pending until all of it was framed, so the progress
  // watch saw no progress and dropped the peer after stallTimeout (before the fix: at 2.2 s, 1.38 MB
  // taken, 1006).
  it("sends all of it to a slow reader, then the close frame", async () => {
    const { port, log, stop } = await bigSendCloseServer();
    cleanup.push(stop);
    const session = await h2session(`http://127.0.0.1:${port}`);
    cleanup.push(() => void session.destroy());
    const stream = connect(session);
    const ended = new Promise<void>((r) => stream.once("close", () => r()));
    const read = readSlowly(stream);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 30_000))]);
    await until(() => log.length > 0, 5000);
    // The message (4 MB and a 10-byte header), then the close frame (4 B).
    expect({ n: read.n, tail: read.tail, log }).toEqual({ n: 10 + SIZE + 4, tail: "880203e8", log: ["closed undefined 1000"] });
  }, 40_000);

  // 1 MB to a reader pausing 80 ms after each DATA frame (<= 16 KiB: ~200 KB/s) with stallTimeout
  // 800 ms: the stream was handed 256 KiB slices, each taking ~1.3 s to leave, so a whole
  // stallTimeout could pass with no slice done and the reader was dropped (1006) although it read
  // on. With 64 KiB slices one completes every ~0.3 s.
  it("sends all of it to a reader that takes a slice in less than stallTimeout", async () => {
    const size = 1_000_000;
    const { port, log, stop } = await bigSendCloseServer(size, 800);
    cleanup.push(stop);
    const session = await h2session(`http://127.0.0.1:${port}`);
    cleanup.push(() => void session.destroy());
    const stream = connect(session);
    const ended = new Promise<void>((r) => stream.once("close", () => r()));
    const read = readSlowly(stream, true, 80);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 20_000))]);
    await until(() => log.length > 0, 5000);
    expect({ n: read.n, tail: read.tail, log }).toEqual({ n: 10 + size + 4, tail: "880203e8", log: ["closed undefined 1000"] });
  }, 30_000);

  it("still drops a peer that stops reading, after stallTimeout", async () => {
    const { port, log, stop } = await bigSendCloseServer();
    cleanup.push(stop);
    const session = await h2session(`http://127.0.0.1:${port}`);
    cleanup.push(() => void session.destroy());
    const stream = connect(session);
    const read = readSlowly(stream, false); // pauses after its first read and never resumes
    const t0 = Date.now();
    await until(() => log.length > 0, 10_000);
    const after = Date.now() - t0;
    expect(log).toEqual(["closed WS_ERR_PEER_NOT_READING 1006"]);
    expect(read.n).toBeLessThan(SIZE);
    // Not before stallTimeout (2 s) went by without progress.
    expect(after).toBeGreaterThanOrEqual(1900);
  }, 20_000);
});
