// A WebSocket client over HTTP/2 for tests of our server, independent of our code: node:http2's own
// client sends the extended CONNECT (RFC 8441), and the `ws` package's WebSocket (its framing,
// masking and permessage-deflate) runs over the Http2Stream, as ws does over any Duplex.
import http2 from "node:http2";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import WS from "ws";

const require = createRequire(import.meta.url);
const wsLib = join(dirname(require.resolve("ws")), "lib");
const PerMessageDeflate = require(join(wsLib, "permessage-deflate.js"));
const { format, parse } = require(join(wsLib, "extension.js")) as { format: (e: unknown) => string; parse: (h: string) => Record<string, unknown[]> };

export interface H2Options {
  protocols?: string[];
  deflate?: boolean;
  /** Extra or replacing request headers (e.g. a wrong version, another :protocol). */
  headers?: Record<string, string>;
}

export interface H2Result {
  status: number;
  headers: http2.IncomingHttpHeaders;
  stream: http2.ClientHttp2Stream;
  /** The response body of a refusal. */
  body: string;
  /** ws's WebSocket (client role) over the stream, on a 200. */
  ws?: WS;
}

/** Connects a session that is ready (the server's SETTINGS, with ENABLE_CONNECT_PROTOCOL, received). */
export async function h2session(authority: string, options: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(authority, options);
  session.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("error", reject);
  });
  return session;
}

/** An extended CONNECT for a WebSocket on `session`; resolves with the response (and ws's socket on 200). */
export function h2ws(session: http2.ClientHttp2Session, path: string, opts: H2Options = {}): Promise<H2Result> {
  const headers: http2.OutgoingHttpHeaders = { ":method": "CONNECT", ":protocol": "websocket", ":path": path, "sec-websocket-version": "13" };
  if (opts.protocols) headers["sec-websocket-protocol"] = opts.protocols.join(", ");
  const pmd = opts.deflate ? new PerMessageDeflate({}, false, 0) : undefined;
  if (pmd) headers["sec-websocket-extensions"] = format({ "permessage-deflate": [pmd.offer()] });
  Object.assign(headers, opts.headers);
  const stream = session.request(headers, { endStream: false });
  stream.on("error", () => undefined);
  return new Promise((resolve, reject) => {
    // Bounded: no response in 5 s fails the test.
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no response to CONNECT ${path} in 5 s`));
    }, 5000);
    stream.once("response", () => clearTimeout(timer));
    stream.once("close", () => reject(new Error(`stream closed before a response (rst ${stream.rstCode})`)));
    stream.once("response", (res) => {
      const status = Number(res[":status"]);
      if (status !== 200) {
        let body = "";
        stream.setEncoding("utf8");
        stream.on("data", (d: string) => (body += d));
        stream.once("end", () => resolve({ status, headers: res, stream, body }));
        return;
      }
      const ws = new (WS as unknown as new (a: null, p: undefined, o: object) => WS)(null, undefined, { autoPong: true, closeTimeout: 30_000 });
      const internal = ws as unknown as { _isServer: boolean; _protocol: string; _extensions: Record<string, unknown>; setSocket(s: unknown, h: Buffer, o: object): void };
      internal._isServer = false;
      const proto = res["sec-websocket-protocol"];
      if (typeof proto === "string") internal._protocol = proto;
      const ext = res["sec-websocket-extensions"];
      if (pmd && typeof ext === "string") {
        pmd.accept(parse(ext)["permessage-deflate"]);
        internal._extensions["permessage-deflate"] = pmd;
      }
      internal.setSocket(stream, Buffer.alloc(0), { allowSynchronousEvents: true, maxPayload: 0 });
      resolve({ status, headers: res, stream, body: "", ws });
    });
  });
}

/** The next message on `ws`, as [data, isBinary]. */
export function nextMessage(ws: WS): Promise<[Buffer, boolean]> {
  return new Promise((resolve) => ws.once("message", (d: Buffer, b: boolean) => resolve([d, b])));
}

/** ws's 'close' as [code, reason]. */
export function closed(ws: { once(e: "close", l: (c: number, r: Buffer) => void): unknown }): Promise<[number, string]> {
  return new Promise((resolve) => ws.once("close", (c: number, r: Buffer) => resolve([c, String(r)])));
}
