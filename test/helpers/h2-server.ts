// A small RFC 8441 server for tests: node:http2 with SETTINGS_ENABLE_CONNECT_PROTOCOL, answering an
// extended CONNECT (`:protocol websocket`) with 200 and running our own Connection ("server" role,
// opened directly) over the stream with the Node driver; it echoes messages. Odd behaviour on
// demand: no setting, a fixed status, chosen subprotocols and deflate, streams to reset or pause,
// GOAWAY. It counts the TCP connections it accepted.
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo, Socket } from "node:net";
import { Connection } from "../../src/protocol/connection.js";
import type { ConnectionEvent } from "../../src/protocol/events.js";
import { deflateForServer } from "../../src/protocol/extensions/permessage-deflate.js";
import { defaultDeflateEngine } from "../../src/adapters/deflate.js";
import { driveSocket, SocketTransport } from "../../src/adapters/node/socket-driver.js";
import type { ConnectionDriver } from "../../src/adapters/driver.js";

const fixture = (f: string) => readFileSync(join(import.meta.dirname, "..", "fixtures", f));
export const cert = fixture("test-cert.pem");
export const key = fixture("test-key.pem");

export interface H2ServerOptions {
  tls?: boolean;
  /** Advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (default true). */
  connectProtocol?: boolean;
  /** Answer every CONNECT with this status instead of accepting it. */
  status?: number;
  /** Subprotocols the server takes (the first offered one that is listed is chosen). */
  protocols?: string[];
  /** Send this Sec-WebSocket-Protocol whatever was offered. */
  forceProtocol?: string;
  /** Accept permessage-deflate offers (default false). */
  deflate?: boolean;
  /** Echo messages back (default true). */
  echo?: boolean;
  /** Send this Sec-WebSocket-Extensions whatever was offered. */
  forceExtensions?: string;
  /** Never answer a CONNECT. */
  hang?: boolean;
  /** Refuse the first CONNECT unprocessed: RST_STREAM(REFUSED_STREAM). */
  refuseFirst?: "rst";
  /** SETTINGS_MAX_CONCURRENT_STREAMS (node's default: no limit). */
  maxConcurrentStreams?: number;
}

/** One accepted WebSocket stream. */
export interface ServerSide {
  stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
  conn: Connection;
  driver: ConnectionDriver;
  messages: number;
  /** The connection's 'close' event. */
  closed: Promise<{ code: number; wasClean: boolean }>;
}

export interface H2Server {
  url: string;
  /** TCP (or TLS) connections accepted. */
  connections: number;
  sessions: Http2Session[];
  sockets: ServerSide[];
  /** Every stream received, answered or not. */
  streams: ServerHttp2Stream[];
  /** Resolves with the next stream received. */
  nextStream(): Promise<ServerHttp2Stream>;
  /** Resolves with the next accepted WebSocket stream. */
  nextSocket(): Promise<ServerSide>;
  close(): Promise<void>;
}

export async function startH2Server(options: H2ServerOptions = {}): Promise<H2Server> {
  const settings = { enableConnectProtocol: options.connectProtocol ?? true, ...(options.maxConcurrentStreams ? { maxConcurrentStreams: options.maxConcurrentStreams } : {}) };
  const server = options.tls ? http2.createSecureServer({ cert, key, settings }) : http2.createServer({ settings });
  const waiting: ((s: ServerSide) => void)[] = [];
  const waitingStreams: ((s: ServerHttp2Stream) => void)[] = [];
  const sockets = new Set<Socket>();
  const state: H2Server = {
    url: "",
    connections: 0,
    sessions: [],
    sockets: [],
    streams: [],
    nextStream: () => new Promise((resolve) => waitingStreams.push(resolve)),
    nextSocket: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("session", (session) => {
    session.on("error", () => undefined);
    state.sessions.push(session);
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    state.streams.push(stream);
    waitingStreams.shift()?.(stream);
    if (headers[":method"] !== "CONNECT" || headers[":protocol"] !== "websocket") {
      stream.respond({ ":status": 400 }, { endStream: true });
      return;
    }
    if (options.hang) return;
    if (options.refuseFirst && state.streams.length === 1) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (options.status !== undefined) {
      stream.respond({ ":status": options.status }, { endStream: true });
      return;
    }
    const answer: http2.OutgoingHttpHeaders = { ":status": 200 };
    const offered = String(headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    const protocol = options.forceProtocol ?? offered.find((p) => options.protocols?.includes(p)) ?? "";
    if (protocol) answer["sec-websocket-protocol"] = protocol;
    const ext = headers["sec-websocket-extensions"];
    const deflate = options.deflate && ext ? deflateForServer([String(ext)], {}, defaultDeflateEngine) : undefined;
    if (deflate) answer["sec-websocket-extensions"] = deflate.extensions;
    if (options.forceExtensions) answer["sec-websocket-extensions"] = options.forceExtensions;
    stream.respond(answer);
    const conn = Connection.open("server", { textAsBytes: true, protocol, extensions: deflate ? "permessage-deflate" : "", codec: deflate?.codec });
    let closedWith: (v: { code: number; wasClean: boolean }) => void = () => undefined;
    const side = { stream, headers, conn, messages: 0, closed: new Promise((r) => (closedWith = r)) } as ServerSide;
    const hooks = {
      conn,
      transport: new SocketTransport(stream),
      onEvent(ev: ConnectionEvent) {
        if (ev.type === "message") {
          side.messages++;
          if (options.echo ?? true) side.driver.send(ev.data, { binary: ev.binary });
        } else if (ev.type === "close") closedWith({ code: ev.code, wasClean: ev.wasClean });
      },
    };
    side.driver = driveSocket(stream, hooks);
    side.driver.pump();
    state.sockets.push(side);
    waiting.shift()?.(side);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  state.url = options.tls ? `wss://localhost:${port}` : `ws://127.0.0.1:${port}`;
  return state;
}
