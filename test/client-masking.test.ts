// What a client puts on the wire, read raw by a plain TCP server (no WebSocket library on that
// side): every frame masked, a fresh key per frame (RFC 6455 §5.3), and each payload unmasking to
// exactly what was sent: text short and long, ASCII and not (the short-ASCII path encodes and masks
// in one pass and must hand anything else to the encoder), binary up to 1 MiB, across refills of
// the key pool, and with the sender's buffers left untouched.
import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import { createHash } from "node:crypto";
import { connect, type WebSocket } from "../src/node.js";
import { output, run } from "./helpers/runtimes.js";
import { SIZES } from "./fixtures/large-sends-client.mjs";

interface Frame {
  opcode: number;
  masked: boolean;
  key: number;
  payload: Buffer;
}

/** A raw server: answers the upgrade, then parses client frames until `want` have arrived. */
function rawServer(want: number, pauseMs = 0): Promise<{ port: number; frames: Promise<Frame[]>; server: net.Server }> {
  let done!: (f: Frame[]) => void;
  const frames = new Promise<Frame[]>((r) => (done = r));
  const got: Frame[] = [];
  const server = net.createServer((s) => {
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, end).toString())![1];
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded = true;
        buf = buf.subarray(end + 4);
        if (pauseMs) {
          // A peer that reads late: the client's writes queue in its socket meanwhile.
          s.pause();
          setTimeout(() => s.resume(), pauseMs);
        }
      }
      for (;;) {
        if (buf.length < 2) return;
        const masked = (buf[1]! & 0x80) !== 0;
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) (len = buf.length >= 4 ? buf.readUInt16BE(2) : -1), (at = 4);
        else if (len === 127) (len = buf.length >= 10 ? Number(buf.readBigUInt64BE(2)) : -1), (at = 10);
        if (len < 0 || buf.length < at + (masked ? 4 : 0) + len) return;
        const key = masked ? buf.readUInt32BE(at) : 0;
        const k = buf.subarray(at, at + 4);
        const start = at + (masked ? 4 : 0);
        const payload = Buffer.from(buf.subarray(start, start + len));
        if (masked) for (let i = 0; i < len; i++) payload[i]! ^= k[i & 3]!;
        got.push({ opcode: buf[0]! & 0x0f, masked, key, payload });
        buf = buf.subarray(start + len);
        if (got.length === want) done(got);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, frames, server })));
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup) f();
  cleanup = [];
});

async function sendAll(messages: (string | Buffer)[], { pauseMs = 0, turnEach = false } = {}): Promise<Frame[]> {
  const { port, frames, server } = await rawServer(messages.length, pauseMs);
  const ws: WebSocket = connect(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  cleanup.push(() => {
    ws.terminate();
    server.close();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  for (const m of messages) {
    ws.send(m);
    if (turnEach) await new Promise((r) => setImmediate(r));
  }
  return frames;
}

const distinctKeys = (frames: Frame[]) => new Set(frames.map((f) => f.key)).size;

describe("client frames on the wire", () => {
  it("short text, ASCII or not, at every length around the one-byte length limit, arrives masked and exact", async () => {
    const messages: string[] = [];
    for (let n = 0; n <= 130; n++) {
      const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join("");
      messages.push(ascii);
      // One non-ASCII character at the start, in the middle, at the end; and a surrogate pair.
      if (n > 0) for (const at of [0, n >> 1, n - 1]) messages.push(ascii.slice(0, at) + "é" + ascii.slice(at + 1));
      if (n > 1) messages.push(ascii.slice(0, n - 2) + "𝄞");
      messages.push("\u007f".repeat(n)); // the last ASCII code
      if (n > 0) messages.push("\u0080" + "a".repeat(n - 1)); // the first that is not
    }
    const frames = await sendAll(messages);
    expect(frames).toHaveLength(messages.length);
    frames.forEach((f, i) => {
      expect(f.masked).toBe(true);
      expect(f.opcode).toBe(1);
      expect(f.payload.toString("utf8")).toBe(messages[i]);
      expect(f.payload.length).toBe(Buffer.byteLength(messages[i]!));
    });
    // 32-bit keys drawn at random: a repeat among ~900 frames is a one-in-10 000 event.
    expect(distinctKeys(frames)).toBeGreaterThanOrEqual(frames.length - 1);
  });

  it("a fresh key per frame across several refills of the key pool", async () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => `m${i}`);
    const frames = await sendAll(messages);
    frames.forEach((f, i) => expect(f.payload.toString()).toBe(messages[i]));
    // Expected repeats among 10 000 random 32-bit keys: ~0.01; a pool handed out twice gives thousands.
    expect(distinctKeys(frames)).toBeGreaterThanOrEqual(frames.length - 2);
  });

  it("binary of every size class arrives exact, and the sender's buffers are not changed", async () => {
    const sizes = [0, 1, 3, 4, 5, 63, 64, 127, 128, 129, 4095, 4096, 16 * 1024, 16 * 1024 + 1, 65535, 65536, 256 * 1024 + 3, 1 << 20];
    const messages = sizes.map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff)));
    const copies = messages.map((m) => Buffer.from(m));
    const frames = await sendAll(messages);
    frames.forEach((f, i) => {
      expect(f.masked).toBe(true);
      expect(f.opcode).toBe(2);
      expect(Buffer.compare(f.payload, copies[i]!)).toBe(0);
    });
    messages.forEach((m, i) => expect(Buffer.compare(m, copies[i]!)).toBe(0));
    expect(distinctKeys(frames)).toBeGreaterThanOrEqual(frames.length - 1);
  });

  it("large messages sent turn after turn arrive exact: a masked copy is reused only once the socket is done with it", async () => {
    // Different sizes and a different pattern each, so a buffer reused too early shows as another
    // message's bytes; the peer reads late at first (writes pile up), then keeps up (writes complete
    // at once and the copy is reused).
    const messages = Array.from({ length: 30 }, (_, i) => {
      const n = SIZES[i % SIZES.length]!;
      const b = Buffer.allocUnsafe(n);
      for (let j = 0; j < n; j++) b[j] = (j * 7 + i * 29) & 0xff;
      return b;
    });
    const frames = await sendAll(messages, { pauseMs: 300, turnEach: true });
    frames.forEach((f, i) => {
      expect(f.payload.length).toBe(messages[i]!.length);
      expect(Buffer.compare(f.payload, messages[i]!)).toBe(0);
    });
  });

  it.each(["node", "deno", "bun"])("the same on %s's own adapter (reuse follows each transport's word)", async (runtime) => {
    const count = 20;
    const { port, frames, server } = await rawServer(count, 300);
    cleanup.push(() => server.close());
    const client = run(runtime, "test/fixtures/large-sends-client.mjs", ["--url", `ws://127.0.0.1:${port}`, "--count", String(count)]);
    cleanup.push(() => client.kill());
    const done = output(client);
    const got = await Promise.race([frames, done.then(({ out }) => Promise.reject(new Error(`client ended early: ${out}`)))]);
    got.forEach((f, i) => {
      const n = SIZES[i % SIZES.length]!;
      expect(f.masked).toBe(true);
      expect(f.payload.length).toBe(n);
      let bad = -1;
      for (let j = 0; j < n && bad < 0; j++) if (f.payload[j] !== ((j * 7 + i * 29) & 0xff)) bad = j;
      expect(bad, `message ${i}: first wrong byte`).toBe(-1);
    });
  }, 60_000);
});
