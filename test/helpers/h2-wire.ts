// A raw RFC 8441 client for replaying Autobahn-style cases over HTTP/2: opens an extended CONNECT
// stream on a node:http2 session, writes the case's masked frames (whole, chopped, or frame by
// frame), reads the server's frames with a plain parser of its own (not the library's), and reports
// what came back as short strings: "text <len> <sha1>", "binary …", "ping …", "pong …",
// "close <code>" (or "close none"), "MASKED" for a masked server frame, "BAD <why>" for a frame
// that breaks RFC 6455.
import { createHash } from "node:crypto";
import http2, { type ClientHttp2Session } from "node:http2";

/** Bytes to write: whole, or in `chop`-byte pieces with a turn of the event loop between them. */
export type Step = { bytes: Uint8Array; chop?: number } | { waitForClose: true };

export const digest = (kind: string, data: Uint8Array): string => `${kind} ${data.length} ${createHash("sha1").update(data).digest("hex").slice(0, 12)}`;

class Wire {
  events: string[] = [];
  closed = false;
  #buf: Buffer = Buffer.alloc(0);
  #frag: { op: number; parts: Buffer[] } | undefined;
  #waiters: (() => void)[] = [];

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b[1]! & 0x80) this.events.push("MASKED");
      if (b.length < at + len) break;
      this.#frame(b[0]!, b.subarray(at, at + len));
      this.#buf = b.subarray(at + len);
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  #frame(b0: number, payload: Buffer): void {
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    if (b0 & 0x70) this.events.push("BAD rsv");
    if (this.closed) return void this.events.push("BAD frame after close");
    if (op === 8) {
      this.closed = true;
      this.events.push(payload.length >= 2 ? `close ${payload.readUInt16BE(0)}` : payload.length ? "BAD close payload" : "close none");
    } else if (op === 9 || op === 10) this.events.push(digest(op === 9 ? "ping" : "pong", payload));
    else if (op === 1 || op === 2) {
      if (this.#frag) this.events.push("BAD interleaved message");
      if (fin) this.events.push(digest(op === 1 ? "text" : "binary", payload));
      else this.#frag = { op, parts: [Buffer.from(payload)] };
    } else if (op === 0 && this.#frag) {
      this.#frag.parts.push(Buffer.from(payload));
      if (fin) {
        this.events.push(digest(this.#frag.op === 1 ? "text" : "binary", Buffer.concat(this.#frag.parts)));
        this.#frag = undefined;
      }
    } else this.events.push(`BAD opcode ${op}`);
  }

  /** Resolves once the server's close frame arrived, or the stream ended. */
  untilClosed(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.closed || done() ? resolve() : this.#waiters.push(check));
      check();
    });
  }

  /** Called when the stream ends, so waiters are not left hanging. */
  wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

const turn = () => new Promise((r) => setImmediate(r));

/**
 * Runs one case on a new stream of `session`: the steps, then (unless the server already closed) a
 * masked close 1000, then waits for the stream to close. Returns the server's frames as strings.
 */
export async function replay(session: ClientHttp2Session, authority: string, steps: Step[], closeFrame: Uint8Array): Promise<string[]> {
  const stream = session.request({ ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": "/", ":authority": authority, "sec-websocket-version": "13" }, { endStream: false });
  stream.on("error", () => undefined);
  const status = await new Promise<number>((resolve) => {
    stream.once("response", (h) => resolve(Number(h[":status"])));
    stream.once("close", () => resolve(0));
  });
  if (status !== 200) return [`status ${status}`];
  const wire = new Wire();
  let ended = false;
  const gone = new Promise<void>((resolve) =>
    stream.once("close", () => {
      ended = true;
      wire.wake();
      resolve();
    }),
  );
  stream.on("data", (d: Buffer) => wire.push(d));
  stream.on("end", () => wire.wake());
  const write = (b: Uint8Array) => !stream.destroyed && stream.writable && stream.write(b);
  for (const step of steps) {
    if ("waitForClose" in step) {
      await wire.untilClosed(() => ended);
      continue;
    }
    if (!step.chop) write(step.bytes);
    else {
      for (let i = 0; i < step.bytes.length; i += step.chop) {
        write(step.bytes.subarray(i, i + step.chop));
        await turn();
      }
    }
    await turn();
  }
  if (!wire.closed) write(closeFrame);
  await wire.untilClosed(() => ended);
  if (!stream.destroyed && stream.writable) stream.end();
  await gone;
  return wire.events;
}

/** A cleartext session to `url` (http://host:port) that has seen the server's SETTINGS. */
export async function h2Session(url: string): Promise<ClientHttp2Session> {
  const session = http2.connect(url);
  session.on("error", () => undefined);
  await new Promise((resolve) => session.once("remoteSettings", resolve));
  return session;
}
