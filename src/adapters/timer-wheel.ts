// One timer for every connection's deadlines (handshake, close, keepalive, idle, linger, stall).
// A setTimeout per connection costs a Timeout object and a timer-list entry each, and re-arming it on
// every message costs a clear and a set; with 100 000 connections that is memory and CPU spent while
// nothing happens. Here deadlines go into buckets (times rounded up to a grain that grows with the
// delay: at most 1/64 of it, at most 1 024 ms), each bucket a linked list through the timers
// themselves, and the process holds one setTimeout for the earliest bucket. A timer that is not set
// costs nothing, setting and clearing are O(1) plus a heap push when a bucket is new, and a timer is
// never run early: only up to its grain late. The shared timeout is unref'd, as the per-connection
// ones were: timers alone never keep a process alive.

/** The rounding grain for a deadline `delay` ms away: a power of two ≤ delay/64, 1 … 1 024 ms. */
export function timerGrain(delay: number): number {
  let g = 1;
  while (g < 1024 && g * 2 <= delay / 64) g *= 2;
  return g;
}

interface Bucket {
  readonly time: number;
  head: WheelTimer | undefined;
}

/** One connection's timer: at most one pending deadline, kept in the shared wheel. */
export class WheelTimer {
  /** The bucket it waits in (undefined: not set); prev/next link it there. */
  bucket: Bucket | undefined = undefined;
  prev: WheelTimer | undefined = undefined;
  next: WheelTimer | undefined = undefined;

  constructor(private readonly callback: () => void) {}

  get pending(): boolean {
    return this.bucket !== undefined;
  }

  /** Runs the callback `delay` ms from now (up to the delay's grain later), replacing any earlier setting. */
  set(delay: number): void {
    wheel.remove(this);
    wheel.insert(this, delay);
  }

  /**
   * Runs the callback no later than `delay` ms from now (plus grain): a setting already due sooner
   * stays, and the callback then finds out for itself what is due (nothing, and sets it again, if the
   * deadline moved later). Moving a deadline later, as every message received does, costs nothing.
   */
  by(delay: number): void {
    if (this.bucket && this.bucket.time <= wheel.bucketTime(delay)) return;
    this.set(delay);
  }

  clear(): void {
    wheel.remove(this);
  }

  /** @internal */
  run(): void {
    this.callback();
  }
}

type Handle = ReturnType<typeof setTimeout>;

class Wheel {
  readonly #buckets = new Map<number, Bucket>();
  /** Bucket times, a binary min-heap (one entry per bucket in the map). */
  readonly #heap: number[] = [];
  /** Timers set. */
  #count = 0;
  #handle: Handle | undefined;
  #handleAt = Infinity;
  /** The setTimeout/clearTimeout that made the handle (fake timers in tests replace them). */
  #madeWith: typeof setTimeout | undefined;
  #clearWith: typeof clearTimeout | undefined;
  #running = false;

  bucketTime(delay: number): number {
    const now = Date.now();
    const g = timerGrain(delay);
    // Never in the past, nor now: a bucket added while buckets run waits for the next run.
    return Math.max(Math.ceil((now + Math.max(0, delay)) / g) * g, now + 1);
  }

  insert(t: WheelTimer, delay: number): void {
    const time = this.bucketTime(delay);
    let b = this.#buckets.get(time);
    if (!b) {
      b = { time, head: undefined };
      this.#buckets.set(time, b);
      heapPush(this.#heap, time);
    }
    t.bucket = b;
    t.prev = undefined;
    t.next = b.head;
    if (b.head) b.head.prev = t;
    b.head = t;
    this.#count++;
    if (!this.#running) this.#arm();
  }

  remove(t: WheelTimer): void {
    const b = t.bucket;
    if (!b) return;
    if (t.prev) t.prev.next = t.next;
    else b.head = t.next;
    if (t.next) t.next.prev = t.prev;
    t.bucket = t.prev = t.next = undefined;
    // The last timer gone: so is the shared timeout (an empty bucket otherwise only costs a wake-up).
    if (--this.#count === 0 && !this.#running) this.#disarm();
  }

  /** Keeps one timeout, for the earliest bucket that holds a timer. */
  #arm(): void {
    const heap = this.#heap;
    while (heap.length > 0 && !this.#buckets.get(heap[0]!)!.head) this.#buckets.delete(heapPop(heap));
    if (heap.length === 0) return this.#disarm();
    const at = heap[0]!;
    const now = Date.now();
    // Already set for that moment, by the timers in use, and not overdue (a timeout made under fake
    // timers that were since removed never fires): nothing to do.
    if (this.#handle !== undefined && this.#handleAt === at && this.#madeWith === setTimeout && at + 1000 > now) return;
    this.#disarm();
    this.#handleAt = at;
    this.#madeWith = setTimeout;
    this.#clearWith = clearTimeout;
    const h = setTimeout(() => this.#run(), Math.max(0, at - now));
    (h as { unref?: () => void }).unref?.();
    this.#handle = h;
  }

  #disarm(): void {
    // Called unbound: a browser's clearTimeout throws when called on another object than the global.
    const clear = this.#clearWith!;
    if (this.#handle !== undefined) clear(this.#handle);
    this.#handle = undefined;
    this.#handleAt = Infinity;
  }

  #run(): void {
    this.#handle = undefined;
    this.#handleAt = Infinity;
    this.#running = true;
    let failures: unknown[] | undefined;
    try {
      const now = Date.now();
      const heap = this.#heap;
      while (heap.length > 0 && heap[0]! <= now) {
        const b = this.#buckets.get(heapPop(heap))!;
        this.#buckets.delete(b.time);
        // One at a time from the head: a callback may clear (or set) any other timer.
        while (b.head) {
          const t = b.head;
          this.remove(t);
          try {
            t.run();
          } catch (e) {
            (failures ??= []).push(e);
          }
        }
      }
    } finally {
      this.#running = false;
      if (this.#count > 0) this.#arm();
      else this.#disarm();
    }
    // A throwing callback does not stop the others; what it threw surfaces afterwards.
    if (failures) for (const e of failures) queueMicrotask(() => { throw e; });
  }
}

function heapPush(h: number[], v: number): void {
  let i = h.push(v) - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= v) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const c = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}

/** The one wheel of this module instance (one per bundle loaded, so per event loop). */
const wheel = new Wheel();
