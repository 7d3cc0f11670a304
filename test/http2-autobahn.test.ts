// Autobahn|Testsuite groups 1–7 replayed over HTTP/2 (RFC 8441). The suite itself speaks only
// HTTP/1.1, so its framing, ping/pong, reserved-bit, opcode, fragmentation, UTF-8 and close cases
// are rebuilt as masked frame bytes (test/helpers/autobahn-cases.ts, shared with the client's
// replay, test/http2-autobahn-client.test.ts) and written on extended CONNECT streams of one
// node:http2 session, whole, chopped into 1-byte or 997-byte writes, or frame by frame, as Autobahn
// sends them. The server's frames are parsed by the test's own reader and graded as Autobahn grades
// strictly: the echoed messages and pongs, in order and byte for byte, and the close code (1000
// echoed after a normal close, the peer's code echoed, 1002 for protocol errors, 1007 for invalid
// UTF-8), unmasked server frames, and that the server ends its side of the stream (END_STREAM, not
// a reset) after the close handshake. Fail-fast UTF-8 cases wait for the server's 1007 before
// sending the rest of the message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http2, { type ClientHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { autobahnCases } from "./helpers/autobahn-cases.js";
import { h2Session, replay } from "./helpers/h2-wire.js";
import { startH2Server } from "./helpers/h2-server.js";
import { WebSocketServer } from "../src/node.js";

const { cases, closeFrame } = autobahnCases(true);

describe.each([
  ["our Connection behind node:http2 (test helper)", "helper"],
  ["WebSocketServer({ server: http2.createServer() })", "WebSocketServer"],
] as const)("Autobahn groups 1-7 over HTTP/2 against %s", (_name, kind) => {
  let session: ClientHttp2Session;
  let close: () => Promise<void>;
  let authority: string;
  beforeAll(async () => {
    let url: string;
    if (kind === "helper") {
      const srv = await startH2Server();
      url = srv.url.replace("ws:", "http:");
      close = srv.close;
    } else {
      const server = http2.createServer({ settings: { enableConnectProtocol: true } });
      const wss = new WebSocketServer({ server, perMessageDeflate: false });
      wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      close = () => new Promise<void>((r) => (wss.close(), server.close(() => r())));
    }
    authority = new URL(url).host;
    session = await h2Session(url);
  });
  afterAll(async () => {
    session?.close();
    await close?.();
  });

  it(`has ${cases.length} cases covering every case class of groups 1-7`, () => {
    const groups = new Set(cases.map((c) => c.id.split(".")[0]));
    expect([...groups].sort()).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
    expect(cases.length).toBe(240);
  });

  it("every case gets Autobahn's strict answer", async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const got = await replay(session, authority, c.steps, closeFrame(1000), { awaitPeerEnd: true });
      if (JSON.stringify(got) !== JSON.stringify(c.expect)) failures.push(`${c.id}: got ${JSON.stringify(got)}, expected ${JSON.stringify(c.expect)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
