// A Broker over Redis publish/subscribe (the `redis` npm client, node-redis, an optional peer
// dependency loaded on first use): topic `t` is the Redis channel `${prefix}${t}`. Two connections,
// a subscriber and a publisher. Each message travels in an envelope: format version, flags (binary;
// not to be compressed, so the receivers honour publish(…, compress = false) as the sender does),
// the origin broker's random id (a broker drops its own messages) and the origin's sequence
// number (a broker drops a message it has already seen from that origin: resent after a
// reconnection, see below), then the payload bytes.
//
// Order: one publisher connection, in-order writes, and Redis delivers in the order it received,
// so the messages of one broker reach every other broker in the order they were published.
// Outage: both connections reconnect with exponential backoff. A message is held until Redis
// acknowledges it; those in flight when the connection broke and those published while it is
// down are sent again, in order, once the publisher is back (receivers drop the ones Redis had
// already delivered). While the publisher is down, publishes are taken up to `maxQueuedBytes`
// held; beyond it `publish` returns false, the message is dropped (counted in `droppedMessages`)
// and `onError` is told once per outage. Subscriptions are restored on reconnection. Redis keeps
// nothing for a subscriber that is away: a process receives what reaches Redis while its
// subscriber connection is up.
import { Buffer } from "node:buffer";
import type { Broker } from "./broker.js";

export interface RedisBrokerOptions {
  /** Prefix of the Redis channel names (default "wasmsocket:"). */
  prefix?: string;
  /** While Redis is unreachable, bytes of messages (payload plus an 18-byte envelope) held for it, beyond which publishes are refused (default 4 MiB). */
  maxQueuedBytes?: number;
  /** First reconnection delay in ms, doubled at each failed attempt (default 50). */
  minReconnectDelay?: number;
  /** Longest reconnection delay in ms (default 2000). */
  maxReconnectDelay?: number;
  /** More options for node-redis's createClient, given to both connections (e.g. `{ password }`, `{ socket: { tls: true } }`). */
  clientOptions?: Record<string, unknown>;
}

export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const HEADER = 18;
const VERSION = 1;
/** Envelope flags (byte 1). A receiver of an older version reads bit 0 only, and compresses. */
const FLAG_BINARY = 1;
const FLAG_NO_COMPRESS = 2;
/** Origins remembered for deduplication (the oldest is forgotten beyond this). */
const MAX_ORIGINS = 65_536;

/** Redis is unreachable and the broker already holds `maxQueuedBytes` for it: it refused a message. */
export class BrokerQueueFullError extends Error {
  override name = "BrokerQueueFullError";
  constructor(readonly topic: string, readonly queuedBytes: number, readonly maxQueuedBytes: number) {
    super(
      `RedisBroker: Redis is unreachable and ${queuedBytes} bytes are held for it (maxQueuedBytes ${maxQueuedBytes}): ` +
        `a message on "${topic}" was dropped, and so are the next ones that do not fit until it is back (counted in droppedMessages)`,
    );
  }
}

// What the broker uses of node-redis (typed here, so that wasmsocket's types do not need it installed).
type Listener = (message: Buffer) => void;
interface RedisClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  unsubscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  on(event: string, fn: (arg: Error) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
}
interface RedisModule {
  createClient(options: object): RedisClient;
  ErrorReply: abstract new (...args: never[]) => Error;
}

async function loadRedis(): Promise<RedisModule> {
  let m: Record<string, unknown>;
  try {
    m = (await import("redis")) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new Error('RedisBroker needs the "redis" package (node-redis): npm install redis', { cause: err });
  }
  return (typeof m.createClient === "function" ? m : m.default) as RedisModule;
}

interface Held {
  readonly channel: string;
  readonly envelope: Buffer;
  done: boolean;
}

export class RedisBroker implements Broker {
  onMessage: ((topic: string, data: Uint8Array, binary: boolean, compress?: boolean) => void) | undefined;
  onError: ((err: Error) => void) | undefined;
  /** This broker's id in the envelopes (16 hex digits). */
  readonly origin: string;
  /** Messages refused by `publish` (queue full), failed by Redis, or still held at `close()`. */
  droppedMessages = 0;

  readonly #redis: RedisModule;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #prefix: string;
  readonly #maxQueued: number;
  readonly #originBytes = new Uint8Array(8);
  #seq = 0;
  /** Messages not yet acknowledged by Redis, oldest first, from #head on. */
  #held: Held[] = [];
  #head = 0;
  #queuedBytes = 0;
  #overflowing = false;
  /** Local topics and the listener each is subscribed with. */
  readonly #topics = new Map<string, Listener>();
  /** The last sequence number seen from each origin. */
  readonly #seen = new Map<string, number>();
  #subReady = false;
  /** Subscriptions sent and not yet confirmed. */
  #unconfirmed = 0;
  #subEpoch = 0;
  #waiters: { resolve(): void; reject(e: Error): void }[] = [];
  #closed: Promise<void> | undefined;
  #malformedReported = false;

  /** Connects both connections to `url` (e.g. "redis://127.0.0.1:6379"); rejects if Redis cannot be reached on the first attempt. */
  static async connect(url: string, options: RedisBrokerOptions = {}): Promise<RedisBroker> {
    const broker = new RedisBroker(await loadRedis(), url, options);
    try {
      await Promise.all([broker.#pub.connect(), broker.#sub.connect()]);
    } catch (err) {
      await broker.close();
      throw new Error(`RedisBroker: cannot connect to ${redact(url)}: ${(err as Error)?.message}`, { cause: err });
    }
    return broker;
  }

  private constructor(redis: RedisModule, url: string, options: RedisBrokerOptions) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? "wasmsocket:";
    this.#maxQueued = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    crypto.getRandomValues(this.#originBytes);
    this.origin = Buffer.from(this.#originBytes).toString("hex");
    const min = options.minReconnectDelay ?? 50;
    const max = options.maxReconnectDelay ?? 2000;
    const make = (role: string) => {
      let everReady = false;
      let lost = false;
      const extra = options.clientOptions ?? {};
      const socket = { ...((extra.socket as object) ?? {}), reconnectStrategy: (retries: number, cause: Error) => {
        // The first connection fails fast (connect() rejects); after that, retry without end.
        if (!everReady || this.#closed) return cause ?? new Error("connection failed");
        const delay = Math.min(min * 2 ** Math.min(retries, 30), max);
        return Math.round(delay * (1 + Math.random() * 0.2));
      } };
      // The publisher holds nothing across reconnections itself (this broker does, bounded).
      const client = redis.createClient({ ...extra, url, socket, disableOfflineQueue: role === "publisher" });
      client.on("ready", () => {
        everReady = true;
        lost = false;
      });
      client.on("error", (err: Error) => {
        if (this.#closed || !everReady || lost || client.isReady) return;
        lost = true;
        if (role === "subscriber") this.#subReady = false;
        this.onError?.(new Error(`RedisBroker: lost the ${role} connection to Redis (${err?.message}); reconnecting`, { cause: err }));
      });
      return client;
    };
    this.#pub = make("publisher");
    this.#sub = make("subscriber");
    this.#pub.on("ready", () => this.#resend());
    this.#sub.on("ready", () => this.#resubscribe());
  }

  /** Both connections are up and every subscription made so far is in place at Redis. */
  get connected(): boolean {
    return this.#pub.isReady && this.#subReady && this.#unconfirmed === 0 && !this.#closed;
  }

  /** Resolves once `connected` (at once if it is); rejects if the broker is closed first. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error("RedisBroker: closed"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Bytes of the messages Redis has not acknowledged yet (in flight, or held while it is unreachable). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  subscribe(topic: string): void {
    if (this.#closed || this.#topics.has(topic)) return;
    const listener: Listener = (message) => {
      if (this.#topics.get(topic) === listener) this.#receive(topic, message);
    };
    this.#topics.set(topic, listener);
    // A subscription lost with the connection is made again on 'ready' (#resubscribe).
    this.#unconfirmed++;
    const settled = () => {
      this.#unconfirmed--;
      this.#notify();
    };
    this.#sub.subscribe(this.#channel(topic), listener, true).then(settled, settled);
  }

  unsubscribe(topic: string): void {
    const listener = this.#topics.get(topic);
    if (!listener || this.#closed) return;
    this.#topics.delete(topic);
    this.#sub.unsubscribe(this.#channel(topic), listener, true).catch(() => {});
  }

  publish(topic: string, data: Uint8Array, binary: boolean, compress = true): boolean {
    if (this.#closed) return false;
    const size = HEADER + data.length;
    if (!this.#pub.isReady && this.#queuedBytes + size > this.#maxQueued) {
      this.droppedMessages++;
      if (!this.#overflowing) {
        this.#overflowing = true;
        this.onError?.(new BrokerQueueFullError(topic, this.#queuedBytes, this.#maxQueued));
      }
      return false;
    }
    const envelope = Buffer.allocUnsafe(size);
    const seq = ++this.#seq;
    envelope[0] = VERSION;
    envelope[1] = (binary ? FLAG_BINARY : 0) | (compress ? 0 : FLAG_NO_COMPRESS);
    envelope.set(this.#originBytes, 2);
    envelope.writeUInt32BE(Math.floor(seq / 0x100000000), 10);
    envelope.writeUInt32BE(seq >>> 0, 14);
    envelope.set(data, HEADER);
    const held: Held = { channel: this.#channel(topic), envelope, done: false };
    this.#held.push(held);
    this.#queuedBytes += size;
    if (this.#pub.isReady) this.#send(held);
    return true;
  }

  /** Closes both connections; messages still held (Redis unreachable) are dropped and counted. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    const end = async (c: RedisClient) => {
      try {
        if (c.isReady) await c.close();
        else c.destroy();
      } catch {
        // Never connected, or already closed: nothing to release.
      }
    };
    this.#closed = Promise.all([end(this.#pub), end(this.#sub)]).then(() => {
      for (let i = this.#head; i < this.#held.length; i++) if (!this.#held[i]!.done) this.droppedMessages++;
      this.#held = [];
      this.#head = 0;
      this.#queuedBytes = 0;
    });
    const err = new Error("RedisBroker: closed");
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#topics.clear();
    return this.#closed;
  }

  #channel(topic: string): string {
    // node-redis names channels by their UTF-8 decoding: a topic that is not well-formed UTF-16
    // is named by its well-formed form, on every process alike.
    return this.#prefix + Buffer.from(topic).toString();
  }

  #send(held: Held): void {
    this.#pub.publish(held.channel, held.envelope).then(
      () => this.#ack(held),
      (err: unknown) => {
        // Redis refused it (an error reply): drop it. Otherwise the connection broke: the message
        // stays held and is sent again on the next 'ready'.
        if (!(err instanceof this.#redis.ErrorReply) || held.done) return;
        this.droppedMessages++;
        this.#ack(held);
        this.onError?.(new Error(`RedisBroker: Redis refused a publish on ${held.channel}: ${err.message}`, { cause: err }));
      },
    );
  }

  #ack(held: Held): void {
    if (held.done) return;
    held.done = true;
    this.#queuedBytes -= held.envelope.length;
    while (this.#head < this.#held.length && this.#held[this.#head]!.done) this.#head++;
    if (this.#head === this.#held.length) {
      this.#held = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#held.length) {
      this.#held = this.#held.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The publisher is (back) up: everything Redis has not acknowledged goes again, in order. */
  #resend(): void {
    this.#overflowing = false;
    for (let i = this.#head; i < this.#held.length; i++) if (!this.#held[i]!.done) this.#send(this.#held[i]!);
    this.#notify();
  }

  /** The subscriber is (back) up: node-redis restored the subscriptions it had confirmed; make the others (those in flight when the connection broke). */
  #resubscribe(): void {
    const epoch = ++this.#subEpoch;
    const pending = [...this.#topics].map(([topic, listener]) => this.#sub.subscribe(this.#channel(topic), listener, true));
    Promise.all(pending).then(
      () => {
        if (epoch !== this.#subEpoch || !this.#sub.isReady) return;
        this.#subReady = true;
        this.#notify();
      },
      () => {}, // the connection broke again: the next 'ready' tries again
    );
  }

  #notify(): void {
    if (this.connected) for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #receive(topic: string, message: Buffer): void {
    if (message.length < HEADER || message[0] !== VERSION) {
      if (!this.#malformedReported) {
        this.#malformedReported = true;
        this.onError?.(new Error(`RedisBroker: ignored a message on ${this.#channel(topic)} that is not a wasmsocket envelope (reported once)`));
      }
      return;
    }
    const origin = message.toString("hex", 2, 10);
    if (origin === this.origin) return;
    const seq = message.readUInt32BE(10) * 0x100000000 + message.readUInt32BE(14);
    const last = this.#seen.get(origin);
    if (last !== undefined && seq <= last) return; // sent again after a reconnection: seen already
    if (last === undefined && this.#seen.size >= MAX_ORIGINS) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(origin, seq);
    const flags = message[1]!;
    this.onMessage?.(topic, message.subarray(HEADER), (flags & FLAG_BINARY) !== 0, (flags & FLAG_NO_COMPRESS) === 0);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
