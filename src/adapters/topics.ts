// Publish/subscribe for a server's sockets, with Bun's names and semantics: a socket subscribes to
// topics; a publish is framed once (PreparedMessage) and the same bytes are queued for every
// subscriber, each flushed with its other output in one write per event-loop turn. A subscriber
// that lets more than `backpressureLimit` bytes queue up misses messages (counted) or, with
// `closeOnBackpressureLimit`, is closed with 1013; it never holds up the others. With a broker,
// publishes reach the subscribers of every process that shares it.
import { PreparedMessage } from "../protocol/prepared.js";
import { CloseCode } from "../protocol/close-codes.js";
import type { Broker } from "./broker.js";
import type { ConnectionDriver } from "./driver.js";

export interface TopicOptions {
  /** Bytes queued for a subscriber beyond which publishes skip it (Bun's option; default 16 MiB). */
  backpressureLimit?: number;
  /** Close a subscriber over the limit (1013, try again later) instead of skipping it (default false). */
  closeOnBackpressureLimit?: boolean;
  /** Joins the publishes of several processes (RedisBroker): each process delivers to its own subscribers. */
  broker?: Broker;
}

/** What publishing needs of a socket. */
export interface Subscriber {
  readonly driver: ConnectionDriver | undefined;
}

export type PublishData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

interface Membership {
  topics: Set<string>;
  /** Publishes this subscriber missed because it was over the backpressure limit. */
  dropped: number;
}

export const DEFAULT_BACKPRESSURE_LIMIT = 16 * 1024 * 1024;

/**
 * When publishes are written out: after the event loop's poll phase (setImmediate, in Node, Deno and
 * Bun), so every publish of the messages that arrived in one turn goes to a subscriber in one write.
 * Writes are what a fan-out costs (a microtask per publish gave one write per publish per subscriber).
 */
const afterPoll: (f: () => void) => void =
  typeof setImmediate === "function" ? (f) => void setImmediate(f) : (f) => void setTimeout(f, 0);

export class Topics {
  readonly #subscribers = new Map<string, Set<Subscriber>>();
  readonly #members = new WeakMap<Subscriber, Membership>();
  readonly #limit: number;
  readonly #closeOnLimit: boolean;
  readonly #broker: Broker | undefined;
  /**
   * Subscribers with publishes queued since the last flush (each once: its `publishQueued` flag
   * says it is listed), and whether a flush is scheduled. An array and a flag, not a Set: adding to
   * a Set per delivery was 2 % of a 1 000-subscriber fan-out's CPU.
   */
  #unflushed: ConnectionDriver[] = [];
  #flushScheduled = false;
  /** Errors of the broker (an outage beyond its bound): the server reports them. */
  onError: ((err: Error) => void) | undefined;

  constructor(options: TopicOptions = {}) {
    this.#limit = options.backpressureLimit ?? DEFAULT_BACKPRESSURE_LIMIT;
    this.#closeOnLimit = options.closeOnBackpressureLimit ?? false;
    const broker = (this.#broker = options.broker);
    if (broker) {
      broker.onMessage = (topic, data, binary, compress = true) => {
        const set = this.#subscribers.get(topic);
        if (set) this.#deliver(set, new PreparedMessage(data, binary, compress), undefined);
      };
      broker.onError = (err) => this.onError?.(err);
    }
  }

  subscribe(s: Subscriber, topic: string): void {
    topic = String(topic);
    const m = this.#members.get(s) ?? this.#join(s);
    if (m.topics.has(topic) || !s.driver || s.driver.conn.state === "closed") return;
    m.topics.add(topic);
    let set = this.#subscribers.get(topic);
    if (!set) {
      this.#subscribers.set(topic, (set = new Set()));
      this.#broker?.subscribe(topic);
    }
    set.add(s);
  }

  unsubscribe(s: Subscriber, topic: string): void {
    topic = String(topic);
    const m = this.#members.get(s);
    if (!m?.topics.delete(topic)) return;
    const set = this.#subscribers.get(topic)!;
    set.delete(s);
    if (set.size === 0) {
      this.#subscribers.delete(topic);
      this.#broker?.unsubscribe(topic);
    }
  }

  isSubscribed(s: Subscriber, topic: string): boolean {
    return this.#members.get(s)?.topics.has(String(topic)) ?? false;
  }

  /** The topics `s` is subscribed to, in the order it joined them. */
  subscriptions(s: Subscriber): string[] {
    return [...(this.#members.get(s)?.topics ?? [])];
  }

  /** Publishes `s` missed because too much was queued for it. */
  dropped(s: Subscriber): number {
    return this.#members.get(s)?.dropped ?? 0;
  }

  /** Local subscribers of `topic` (this process's). */
  subscriberCount(topic: string): number {
    return this.#subscribers.get(String(topic))?.size ?? 0;
  }

  /** The socket closed: its subscriptions end. */
  leave(s: Subscriber): void {
    const m = this.#members.get(s);
    if (!m) return;
    for (const topic of [...m.topics]) this.unsubscribe(s, topic);
  }

  /**
   * Sends `data` (a string as text, bytes as binary) to every subscriber of `topic` but `except`,
   * and to the broker's other processes. Returns the payload's byte length when anyone took it,
   * else 0 (as Bun's publish returns the bytes sent, 0 when dropped).
   */
  publish(topic: string, data: PublishData, compress = true, except?: Subscriber): number {
    topic = String(topic);
    const set = this.#subscribers.get(topic);
    if (!set && !this.#broker) return 0;
    const binary = typeof data !== "string";
    const msg = new PreparedMessage(typeof data === "string" ? data : toBytes(data), binary, compress);
    let taken = set ? this.#deliver(set, msg, except) : false;
    if (this.#broker?.publish(topic, msg.bytes, binary, compress)) taken = true;
    return taken ? msg.bytes.length : 0;
  }

  /** Queues the message for the local subscribers but `except`; true if any took it. */
  #deliver(set: Set<Subscriber>, msg: PreparedMessage, except: Subscriber | undefined): boolean {
    let taken = false;
    const limit = this.#limit;
    const unflushed = this.#unflushed;
    for (const s of set) {
      if (s === except) continue;
      const d = s.driver;
      if (d === undefined || d.conn.state !== "open") continue;
      if (d.queuedBytes > limit) {
        this.#members.get(s)!.dropped++;
        if (this.#closeOnLimit) d.close(CloseCode.TryAgainLater, "backpressure limit");
        continue;
      }
      if (d.sendPrepared(msg)) {
        taken = true;
        if (!d.publishQueued) {
          d.publishQueued = true;
          unflushed.push(d);
        }
      } else this.#members.get(s)!.dropped++;
    }
    if (taken && !this.#flushScheduled) {
      this.#flushScheduled = true;
      afterPoll(this.#flush);
    }
    return taken;
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const drivers = this.#unflushed;
    this.#unflushed = [];
    for (let i = 0; i < drivers.length; i++) {
      const d = drivers[i]!;
      d.publishQueued = false;
      d.pump();
    }
  };

  #join(s: Subscriber): Membership {
    const m: Membership = { topics: new Set(), dropped: 0 };
    this.#members.set(s, m);
    return m;
  }
}

function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("publish: data must be a string, an ArrayBuffer or a view of one");
}
