// Autobahn|Testsuite groups 1–7 replayed over HTTP/2 (RFC 8441) against OUR CLIENT, as Autobahn's
// client suite runs them (run-client-suite.sh with examples/autobahn-client.mjs): one
// `new WebSocket(url, { http2: true })` a case, echoing every message it receives (text as text,
// binary as binary). A node:http2 server answers each extended CONNECT with :status 200 and writes
// the case's UNMASKED frames (test/helpers/autobahn-cases.ts, the same table as the server's replay
// in test/http2-autobahn.test.ts) whole, chopped into 1-byte or 997-byte writes, or frame by
// frame; it reads the client's frames with the test's own reader (test/helpers/h2-wire.ts: they
// must be masked, and are unmasked there) and grades strictly as Autobahn does: the echoed messages
// and pongs, in order and byte for byte; the client's close code (1000 echoed after the server's
// normal close, the server's code echoed, 1002 for protocol errors, 1007 for invalid UTF-8 in a
// message or a close reason); and that the client ends its side of the stream (END_STREAM, not a
// reset) after the close handshake. A close the client starts is answered with its own code, as
// Autobahn's server does. The client's events are checked as ws 8 emits them: after the server's
// close, no 'error' and 'close' with the server's code (1005 for none); a connection the client
// fails (1002, 1007) gets an 'error', then 'close' 1006, as it stops reading (ws's own test "emits an
// 'error' event if an error occurs"). Added for the client role: a masked server frame is a protocol
// error (RFC 6455 §5.1).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { autobahnCases, PROTOCOL, UTF8, text, type Case } from "./helpers/autobahn-cases.js";
import { frame, KEY } from "./helpers/frames.js";
import { drive } from "./helpers/h2-wire.js";
import { WebSocket } from "../src/node.js";

const { cases: autobahn, closeFrame } = autobahnCases(false);
const masked = (opcode: number, payload: string | Uint8Array = "") => frame({ opcode, payload, key: KEY });
const hello = frame({ opcode: 1, payload: "Hello, world!" });
const cases: Case[] = [
  ...autobahn,
  { id: "M.1 masked text", steps: [{ bytes: masked(1, "Hello, world!") }], expect: [PROTOCOL] },
  { id: "M.2 masked ping", steps: [{ bytes: masked(9, "ping payload") }], expect: [PROTOCOL] },
  { id: "M.3 masked close 1000", steps: [{ bytes: masked(8, Uint8Array.of(0x03, 0xe8)) }], expect: [PROTOCOL] },
  { id: "M.4 masked text after a message", steps: [{ bytes: hello }, { bytes: masked(1, "Hello, world!") }], expect: [text("Hello, world!"), PROTOCOL] },
];

/** A case's server side, found by its :path: resolved with the client's frames as read. */
interface Served {
  c: Case;
  done: (events: string[]) => void;
}

/** The client fails the connection (1002, 1007) rather than echoing the server's close: in 7.7 the server's own code is echoed. */
const fails = (c: Case) => [PROTOCOL, UTF8].includes(c.expect.at(-1)!) && !c.id.startsWith("7.7.");

/** `p`'s value, or `fallback` once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

describe("Autobahn groups 1-7 over HTTP/2 against our client (new WebSocket(url, { http2: true }))", () => {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  const pending = new Map<string, Served>();
  let url: string;
  let sessions = 0;
  beforeAll(async () => {
    server.on("session", () => sessions++);
    server.on("stream", (stream, headers) => {
      stream.on("error", () => undefined);
      const path = String(headers[":path"]);
      const run = pending.get(path);
      if (!run || headers[":method"] !== "CONNECT" || headers[":protocol"] !== "websocket") return void stream.respond({ ":status": 404 }, { endStream: true });
      pending.delete(path);
      stream.respond({ ":status": 200 });
      void drive(stream, run.c.steps, closeFrame(1000), { fromClient: true, answerClose: closeFrame, awaitPeerEnd: true, timeoutMs: 5_000 }).then(run.done);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await within(new Promise<void>((r) => server.close(() => r())), 5_000, undefined);
  });

  /** Runs case `n` with a new client; returns what went wrong, if anything. */
  async function run(c: Case, n: number): Promise<string | undefined> {
    const path = `/case/${n}`;
    let done!: (events: string[]) => void;
    const served = new Promise<string[]>((r) => (done = r));
    pending.set(path, { c, done });
    const ws = new WebSocket(`${url}${path}`, { http2: true });
    let errored = false;
    ws.on("error", () => (errored = true));
    ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    const got = await within(served, 30_000, ["TIMEOUT: no stream reached the server"]);
    const code = await within(closed, 10_000, -1);
    if (code === -1) ws.terminate();
    pending.delete(path);
    const wrong: string[] = [];
    if (JSON.stringify(got) !== JSON.stringify(c.expect)) wrong.push(`got ${JSON.stringify(got)}, expected ${JSON.stringify(c.expect)}`);
    if (ws.httpVersion !== "2") wrong.push(`httpVersion ${ws.httpVersion}`);
    const sent = got.filter((e) => e.startsWith("close ")).pop();
    const expected = fails(c) ? 1006 : sent === "close none" ? 1005 : Number(sent?.slice(6));
    if (code !== expected || errored !== fails(c)) wrong.push(`'close' event ${code}${errored ? " after 'error'" : " (no 'error')"}, expected ${expected}${fails(c) ? " after 'error'" : ""}`);
    return wrong.length ? `${c.id}: ${wrong.join("; ")}` : undefined;
  }

  it(`has ${cases.length} cases covering every case class of groups 1-7, plus masked server frames`, () => {
    const perGroup: Record<string, number> = {};
    for (const c of cases) perGroup[c.id.split(".")[0]!] = (perGroup[c.id.split(".")[0]!] ?? 0) + 1;
    expect(perGroup).toEqual({ 1: 16, 2: 11, 3: 7, 4: 10, 5: 20, 6: 135, 7: 41, M: 4 });
    expect(cases.length).toBe(244);
  });

  it("every case gets Autobahn's strict answer from the client", async () => {
    const failures: string[] = [];
    // Small parallel batches: the batch's sockets share the pooled session to the origin.
    const batch = 4;
    for (let i = 0; i < cases.length; i += batch) {
      const results = await Promise.all(cases.slice(i, i + batch).map((c, j) => run(c, i + j)));
      failures.push(...results.filter((r): r is string => r !== undefined));
    }
    expect(failures).toEqual([]);
    // Each batch's sockets shared a pooled session (one TCP connection): at most one per batch, not one per case.
    expect(sessions).toBeLessThanOrEqual(Math.ceil(cases.length / batch));
  }, 300_000);
});
