// Replays Autobahn-style cases over an RFC 8441 stream, in either role: `replay` opens an extended
// CONNECT stream on a node:http2 session (our server under test), `drive` runs a case on any
// Http2Stream (also the server side of our client's stream). The case's frames are written whole,
// chopped, or frame by frame; the peer's frames are read with a plain parser of its own (not the
// library's) and reported as short strings: "text <len> <sha1>", "binary …", "ping …", "pong …",
// "close <code>" (or "close none"), "MASKED" for a masked server frame, "UNMASKED" for an unmasked
// client frame, "BAD <why>" for a frame or stream end that breaks RFC 6455 / RFC 8441, "TIMEOUT …"
// for a wait that ran out.
import { createHash } from "node:crypto";
import http2, { type ClientHttp2Session, type Http2Stream } from "node:http2";

/** Bytes to write: whole, or in `chop`-byte pieces with a turn of the event loop between them. */
export type Step = { bytes: Uint8Array; chop?: number } | { waitForClose: true };

export const digest = (kind: string, data: Uint8Array): string => `${kind} ${data.length} ${createHash("sha1").update(data).digest("hex").slice(0, 12)}`;

class Wire {
  events: string[] = [];
  closed = false;
  /** The peer's close code (undefined for an empty close). */
  closeCode: number | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #frag: { op: number; parts: Buffer[] } | undefined;
  #waiters: (() => void)[] = [];

  /** `masked`: the frames read must be masked (a client's) or must not be (a server's). */
  constructor(readonly masked: boolean) {}

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
      const masked = (b[1]! & 0x80) !== 0;
      const key = masked ? 4 : 0;
      if (b.length < at + key + len) break;
      if (masked !== this.masked) this.events.push(masked ? "MASKED" : "UNMASKED");
      const payload = b.subarray(at + key, at + key + len);
      if (masked) {
        const k = b.subarray(at, at + 4);
        for (let i = 0; i < len; i++) payload[i]! ^= k[i & 3]!;
      }
      this.#frame(b[0]!, payload);
      this.#buf = b.subarray(at + key + len);
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
      if (payload.length >= 2) this.closeCode = payload.readUInt16BE(0);
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

  /** Resolves once `ready()` holds, checked after every read and every `wake()`. */
  until(ready: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (ready() ? resolve() : this.#waiters.push(check));
      check();
    });
  }

  /** Called on stream events, so waiters see them. */
  wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

const turn = () => new Promise((r) => setImmediate(r));

export interface DriveOptions {
  /** The frames read are a client's: they must be masked (otherwise a server's: they must not be). */
  fromClient?: boolean;
  /** When the peer closed first, the close frame to answer with (after the steps), given the peer's code. */
  answerClose?: (code: number | undefined) => Uint8Array;
  /** After the close handshake, wait for the peer's END_STREAM before ending ours ("BAD …" if the stream closes without it). */
  awaitPeerEnd?: boolean;
  /** Bound of each wait in ms ("TIMEOUT <what>", and the stream is reset, when one runs out). Default 10 000. */
  timeoutMs?: number;
}

/**
 * Runs one case on an open WebSocket `stream`: the steps, then (unless the peer already closed) our
 * close frame `closeFrame`, or the answer to the peer's close; waits for the peer's close, ends our
 * side and waits for the stream to close. Returns the peer's frames as strings.
 */
export async function drive(stream: Http2Stream, steps: Step[], closeFrame: Uint8Array, o: DriveOptions = {}): Promise<string[]> {
  const wire = new Wire(o.fromClient ?? false);
  let gone = stream.closed;
  let peerEnded = false;
  stream.once("close", () => ((gone = true), wire.wake()));
  // END_STREAM ends the readable side of a stream still open; a reset closes it first (then 'end' follows).
  stream.on("end", () => ((peerEnded = !stream.closed), wire.wake()));
  stream.on("data", (d: Buffer) => wire.push(d));
  const wait = async (what: string, ready: () => boolean): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([wire.until(ready).then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), o.timeoutMs ?? 10_000)))]);
    clearTimeout(timer);
    if (timedOut) wire.events.push(`TIMEOUT ${what}`);
    return !timedOut;
  };
  const write = (b: Uint8Array) => !stream.destroyed && stream.writable && stream.write(b);
  for (const step of steps) {
    if ("waitForClose" in step) {
      await wait("for the peer's close", () => wire.closed || gone);
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
  else if (o.answerClose) write(o.answerClose(wire.closeCode));
  let ok = await wait("for the peer's close", () => wire.closed || gone);
  if (ok && o.awaitPeerEnd) {
    ok = await wait("for the peer's END_STREAM", () => peerEnded || gone);
    if (ok && !peerEnded) wire.events.push(`BAD stream closed without END_STREAM (RST_STREAM ${stream.rstCode})`);
  }
  if (!stream.destroyed && stream.writable) stream.end();
  if (ok && !(await wait("for the stream to close", () => gone))) ok = false;
  if (!ok) stream.close(http2.constants.NGHTTP2_CANCEL);
  return wire.events;
}

/**
 * Runs one case on a new extended CONNECT stream of `session` (`drive`, as a client: our masked
 * close 1000 is `closeFrame`). Returns the server's frames as strings.
 */
export async function replay(session: ClientHttp2Session, authority: string, steps: Step[], closeFrame: Uint8Array, o: DriveOptions = {}): Promise<string[]> {
  const stream = session.request({ ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": "/", ":authority": authority, "sec-websocket-version": "13" }, { endStream: false });
  stream.on("error", () => undefined);
  const status = await new Promise<number>((resolve) => {
    stream.once("response", (h) => resolve(Number(h[":status"])));
    stream.once("close", () => resolve(0));
  });
  if (status !== 200) return [`status ${status}`];
  return drive(stream, steps, closeFrame, o);
}

/** A cleartext session to `url` (http://host:port) that has seen the server's SETTINGS. */
export async function h2Session(url: string): Promise<ClientHttp2Session> {
  const session = http2.connect(url);
  session.on("error", () => undefined);
  await new Promise((resolve) => session.once("remoteSettings", resolve));
  return session;
}
