// HTTP/2 sessions for WebSocket clients (RFC 8441): sessions per origin and connection options,
// shared by the sockets opened to it and each closed when the last of its sockets is done (a second
// session opens when the server's SETTINGS_MAX_CONCURRENT_STREAMS leave the first no room); or a session the
// application gave, which it keeps (we never close it). Each session is asked once what it can do:
// extended CONNECT, once the server's SETTINGS advertise SETTINGS_ENABLE_CONNECT_PROTOCOL; or
// "fallback" to HTTP/1.1 when the SETTINGS do not, when TLS agreed on http/1.1, or when the server
// broke the connection before any SETTINGS (an HTTP/1.1 server answering an h2c preface).
import http2, { type ClientHttp2Session } from "node:http2";
import net from "node:net";
import tls from "node:tls";

/** What a session can do for a WebSocket: extended CONNECT, fall back to HTTP/1.1, or the error it failed with. */
export type Readiness = "connect" | "fallback" | Error;

/** net options, and tls options over TLS, that make two sessions to one origin different (a pooled session is shared only by equal ones). */
const NET_KEYS = ["family", "localAddress", "lookup", "hints", "maxSessionMemory"] as const;
/**
 * node's maxSessionMemory (MB) for a pooled session unless the options give one. Its default, 10,
 * counts the sends queued on every stream of the session: past it node refuses new streams
 * (ENHANCE_YOUR_CALM), so one socket with 10 MB queued for a slow reader failed every new socket to
 * that origin, where over HTTP/1.1 each has its own connection. Each socket's queue is bounded as
 * over HTTP/1.1 (bufferedAmount, the driver's stall watch); the session adds no bound of its own.
 */
const SESSION_MEMORY_MB = 1_000_000;
const TLS_KEYS = [
  "ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername", "checkServerIdentity", "ciphers", "ecdhCurve",
  "sigalgs", "minVersion", "maxVersion", "secureOptions", "secureProtocol", "secureContext", "crl", "session",
] as const;

interface Pooled {
  readonly session: ClientHttp2Session;
  /** Its key in the pool; undefined for a session the application gave (never closed by us). */
  readonly key: string | undefined;
  users: number;
  /** Of its users, those whose stream was requested (and not yet released). */
  streams: number;
  readiness: Readiness | undefined;
  waiters: ((r: Readiness) => void)[];
  connected: boolean;
  error: Error | undefined;
  /** What each open socket does when the server sends GOAWAY. */
  readonly goaway: Set<() => void>;
}

/** Open sessions by pool key, oldest first: a new socket takes the first with a stream to spare. */
const pool = new Map<string, Pooled[]>();
const adopted = new WeakMap<ClientHttp2Session, Pooled>();
const ids = new WeakMap<object, number>();
let nextId = 1;

function identity(v: unknown): string {
  if ((typeof v !== "object" && typeof v !== "function") || v === null) return JSON.stringify(v) ?? String(v);
  let id = ids.get(v);
  if (id === undefined) ids.set(v, (id = nextId++));
  return `#${id}`;
}

/** The options of `options` that shape the connection. */
function connectOptions(options: Record<string, unknown>, secure: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of secure ? [...NET_KEYS, ...TLS_KEYS] : NET_KEYS) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

/** The pool key: origin plus the identity of every connection option (objects by identity, not by content). */
export function poolKey(url: URL, secure: boolean, options: Record<string, unknown>): string {
  const port = url.port || (secure ? "443" : "80");
  let key = `${secure ? "https" : "http"}://${url.hostname}:${port}`;
  for (const [k, v] of Object.entries(connectOptions(options, secure))) key += `|${k}=${identity(v)}`;
  return key;
}

function settle(p: Pooled, r: Readiness): void {
  if (p.readiness === "connect" || p.readiness instanceof Error) return;
  // SETTINGS may turn extended CONNECT on after a first frame without it (never off again: RFC 8441 §3).
  if (p.readiness === "fallback" && r !== "connect") return;
  p.readiness = r;
  const waiters = p.waiters;
  p.waiters = [];
  for (const cb of waiters) cb(r);
}

function forget(p: Pooled): void {
  if (p.key === undefined) return;
  const list = pool.get(p.key);
  const at = list ? list.indexOf(p) : -1;
  if (at < 0) return;
  list!.splice(at, 1);
  if (list!.length === 0) pool.delete(p.key);
}

/**
 * Whether `p` can take one more socket. A WebSocket holds its stream for as long as it is open, so a
 * socket queued behind the server's stream limit could wait forever: it gets a session of its own
 * instead. The limit is known from the server's SETTINGS; before them every socket shares the session.
 */
function hasRoom(p: Pooled, taken: number): boolean {
  if (p.session.closed || p.session.destroyed) return false; // closing: its 'goaway' or 'close' may not be out yet
  const limit = p.session.remoteSettings?.maxConcurrentStreams;
  return !p.readiness || typeof limit !== "number" || taken < limit;
}

/** Listens to a session (the 'error' listener first) and works out what it can do. */
function watch(p: Pooled, secure: boolean): void {
  const s = p.session;
  s.on("error", (err: Error) => {
    p.error = err;
  });
  s.on("connect", () => {
    p.connected = true;
    // TLS agreed on HTTP/1.1 (we offer both): this server takes WebSockets the old way.
    if (secure && s.alpnProtocol !== "h2") {
      settle(p, "fallback");
      forget(p);
      s.destroy();
    }
  });
  s.on("remoteSettings", (settings: http2.Settings) => settle(p, settings.enableConnectProtocol ? "connect" : "fallback"));
  s.on("goaway", () => {
    // No new streams on it: the next socket gets a new session; the open ones close (1001).
    forget(p);
    for (const close of [...p.goaway]) close();
  });
  s.once("close", () => {
    forget(p);
    settle(p, p.connected ? "fallback" : p.error ?? new Error("The HTTP/2 session closed"));
    if (!(p.readiness instanceof Error)) p.readiness = p.error ?? new Error("The HTTP/2 session closed");
  });
}

function open(key: string, url: URL, secure: boolean, options: Record<string, unknown>): Pooled {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port) || (secure ? 443 : 80);
  const o = connectOptions(options, secure);
  const authority = `${secure ? "https" : "http"}://${url.host}`;
  // Over TLS, h2 and http/1.1 are both offered: a server without HTTP/2 then answers with the
  // latter (we fall back) rather than failing the TLS handshake on ALPN.
  const createConnection = () =>
    tls.connect({ ...o, host, port, servername: (o.servername as string | undefined) ?? (net.isIP(host) ? "" : host), ALPNProtocols: ["h2", "http/1.1"] } as tls.ConnectionOptions);
  const session = http2.connect(authority, { maxSessionMemory: SESSION_MEMORY_MB, ...o, ...(secure ? { createConnection } : {}) });
  const p: Pooled = { session, key, users: 0, streams: 0, readiness: undefined, waiters: [], connected: false, error: undefined, goaway: new Set() };
  watch(p, secure);
  const list = pool.get(key);
  if (list) list.push(p);
  else pool.set(key, [p]);
  return p;
}

/** A session the application gave: watched once, asked what it can do, never closed by us. */
function adopt(session: ClientHttp2Session): Pooled {
  const p: Pooled = { session, key: undefined, users: 0, streams: 0, readiness: undefined, waiters: [], connected: !session.connecting, error: undefined, goaway: new Set() };
  adopted.set(session, p);
  watch(p, session.encrypted === true);
  if (session.destroyed || session.closed) p.readiness = new Error("The HTTP/2 session is closed");
  else if (session.remoteSettings?.enableConnectProtocol) p.readiness = "connect";
  else if (!session.connecting) {
    // Its SETTINGS may have come and gone: the server sends them before the answer to a ping.
    session.ping((err) => (err ? settle(p, err) : settle(p, session.remoteSettings.enableConnectProtocol ? "connect" : "fallback")));
  }
  return p;
}

/** One socket's use of a session, from its handshake until its stream closes. */
export class SessionLease {
  #released = false;
  #stream = false;
  #onGoaway: (() => void) | undefined;

  constructor(private readonly p: Pooled) {
    p.users++;
  }

  get session(): ClientHttp2Session {
    return this.p.session;
  }

  /** Calls `cb` once with what the session can do, always on a later tick. */
  ready(cb: (r: Readiness) => void): void {
    const r = this.p.readiness;
    if (r === undefined) this.p.waiters.push(cb);
    else process.nextTick(cb, r);
  }

  /** What to do when the server sends GOAWAY on this session. */
  onGoaway(close: () => void): void {
    this.#onGoaway = close;
    this.p.goaway.add(close);
  }

  /**
   * Whether this socket may open its stream here now: false when the server's stream limit is
   * reached (sockets that leased the session before its SETTINGS came), then it leases another.
   * Given sessions are always used: the application chose them.
   */
  hasStream(): boolean {
    return this.p.key === undefined || hasRoom(this.p, this.p.streams);
  }

  /** The socket requested its stream. */
  streamOpened(): void {
    if (this.#stream || this.#released) return;
    this.#stream = true;
    this.p.streams++;
  }

  /** This socket is done with the session; a pooled session closes with its last socket. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const p = this.p;
    if (this.#stream) p.streams--;
    if (this.#onGoaway) p.goaway.delete(this.#onGoaway);
    if (--p.users > 0 || p.key === undefined) return;
    forget(p);
    if (!p.session.closed && !p.session.destroyed) p.session.close();
  }
}

/** The session for a socket to `url`: `given`, or the pooled one for the origin and options (opened if needed). */
export function leaseSession(url: URL, secure: boolean, options: Record<string, unknown>, given?: ClientHttp2Session): SessionLease {
  if (given) return new SessionLease(adopted.get(given) ?? adopt(given));
  const key = poolKey(url, secure, options);
  const pooled = pool.get(key)?.find((p) => hasRoom(p, p.users));
  return new SessionLease(pooled ?? open(key, url, secure, options));
}

/** @internal For tests: how many pooled sessions are open. */
export function pooledSessions(): number {
  let n = 0;
  for (const list of pool.values()) n += list.length;
  return n;
}
