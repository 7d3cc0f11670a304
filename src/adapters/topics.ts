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
  /** The broker, shared with the other servers of this process that were given the same one. */
  readonly #hub: BrokerHub | undefined;
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
    if (options.broker) this.#hub = BrokerHub.of(options.broker, this);
  }

  subscribe(s: Subscriber, topic: string): void {
    topic = String(topic);
    const m = this.#members.get(s) ?? this.#join(s);
    if (m.topics.has(topic) || !s.driver || s.driver.conn.state === "closed") return;
    m.topics.add(topic);
    let set = this.#subscribers.get(topic);
    if (!set) {
      this.#subscribers.set(topic, (set = new Set()));
      this.#hub?.join(this, topic);
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
      this.#hub?.leave(this, topic);
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
    const hub = this.#hub;
    if (!set && !hub) return 0;
    const binary = typeof data !== "string";
    const msg = new PreparedMessage(typeof data === "string" ? data : toBytes(data), binary, compress);
    let taken = set ? this.#deliver(set, msg, except) : false;
    if (hub) {
      // The other servers of this process that share the broker: it does not echo our own messages.
      const servers = hub.servers(topic);
      if (servers && servers.size > (set ? 1 : 0)) for (const t of servers) if (t !== this && t.deliverLocal(topic, msg)) taken = true;
      if (hub.broker.publish(topic, msg.bytes, binary, compress)) taken = true;
    }
    return taken ? msg.bytes.length : 0;
  }

  /** A message published elsewhere (another process, or another server sharing the broker) for our subscribers of `topic`. */
  deliverLocal(topic: string, msg: PreparedMessage): boolean {
    const set = this.#subscribers.get(topic);
    return set ? this.#deliver(set, msg, undefined) : false;
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

/**
 * The servers of one process given the same broker (say, two ports, or HTTP/1.1 and HTTP/2 servers):
 * a message from another process reaches every one of them, one's publish reaches the others'
 * subscribers here (the broker drops its own messages), the broker is subscribed to a topic while
 * any of them has a subscriber to it, and its errors are reported by each of them. Servers are held
 * only while they have subscribers (for errors, weakly), so a server dropped leaves nothing behind.
 */
class BrokerHub {
  static readonly #hubs = new WeakMap<Broker, BrokerHub>();
  readonly #byTopic = new Map<string, Set<Topics>>();
  readonly #servers = new Set<WeakRef<Topics>>();
  /**
   * A server collected leaves #servers: servers made and dropped with one broker kept 59 B each for
   * good otherwise (11 MiB after 200 000), as they left only when an error was reported.
   */
  readonly #collected = new FinalizationRegistry<WeakRef<Topics>>((ref) => this.#servers.delete(ref));

  static of(broker: Broker, topics: Topics): BrokerHub {
    let hub = BrokerHub.#hubs.get(broker);
    if (!hub) BrokerHub.#hubs.set(broker, (hub = new BrokerHub(broker)));
    const ref = new WeakRef(topics);
    hub.#servers.add(ref);
    hub.#collected.register(topics, ref);
    return hub;
  }

  private constructor(readonly broker: Broker) {
    broker.onMessage = (topic, data, binary, compress = true) => {
      const servers = this.#byTopic.get(topic);
      if (!servers) return;
      const msg = new PreparedMessage(data, binary, compress);
      for (const t of servers) t.deliverLocal(topic, msg);
    };
    broker.onError = (err) => {
      for (const ref of this.#servers) {
        const t = ref.deref();
        if (t) t.onError?.(err);
        else this.#servers.delete(ref);
      }
    };
  }

  /** The servers here with a subscriber to `topic`. */
  servers(topic: string): Set<Topics> | undefined {
    return this.#byTopic.get(topic);
  }

  /** `t` has its first subscriber to `topic`. */
  join(t: Topics, topic: string): void {
    let servers = this.#byTopic.get(topic);
    if (!servers) {
      this.#byTopic.set(topic, (servers = new Set()));
      this.broker.subscribe(topic);
    }
    servers.add(t);
  }

  /** `t` has no subscriber to `topic` left. */
  leave(t: Topics, topic: string): void {
    const servers = this.#byTopic.get(topic);
    if (!servers?.delete(t) || servers.size > 0) return;
    this.#byTopic.delete(topic);
    this.broker.unsubscribe(topic);
  }
}

function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("publish: data must be a string, an ArrayBuffer or a view of one");
}
