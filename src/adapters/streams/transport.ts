// The transport under overStreams(): any duplex byte stream as a WHATWG { readable, writable } pair
// (Deno.Conn, a browser or service worker transport, WebTransport streams, a custom tunnel, a
// test's TransformStreams). Reads feed the driver; each batch of outgoing frames is one write.
import { concatBytes } from "../../core/bytes.js";
import type { ConnectionDriver, Transport } from "../driver.js";

/** Bytes not yet taken by the writable above which the transport reports congestion (then 'drain'). */
const HIGH_WATER = 64 * 1024;
/** Chunks larger than this are written in slices of it, so that a slow peer shows progress (write()). */
const SLICE = 1024 * 1024;

export interface StreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/**
 * No pauseReading: with the small queues of such pairs (a TransformStream holds one chunk), two ends
 * that each stopped reading until their own write completed would wait for each other forever. A
 * paused socket holds its messages in the driver instead.
 */
export class StreamTransport implements Transport {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #driver: ConnectionDriver | undefined;
  #closed = false;
  /** Bytes given to the writable whose write has not completed: what bufferedAmount counts beyond the driver. */
  #pending = 0;
  /** write() said the writable is full: drained() is owed once it has room. */
  #congested = false;

  constructor(pair: StreamPair) {
    this.#writer = pair.writable.getWriter();
    this.#reader = pair.readable.getReader();
  }

  /** Starts reading into `driver`; the readable ending or erroring is the transport closing. */
  start(driver: ConnectionDriver): void {
    this.#driver = driver;
    void this.#readLoop(driver);
  }

  async #readLoop(driver: ConnectionDriver): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        if (value?.length) driver.receive(value);
      }
    } catch {
      // a reset: reported below as the transport closing
    }
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#driver?.transportClosed();
  }

  write(chunks: Uint8Array[]): boolean {
    // One write per batch: frames coalesce into one chunk (and one syscall underneath).
    const bytes = concatBytes(chunks);
    const n = bytes.length;
    this.#pending += n;
    if (n <= SLICE) {
      this.#writer.write(bytes).then(() => this.#written(n), () => this.#failed(n));
    } else {
      // A writable says nothing of a chunk until all of it is written: a 24 MB chunk to a peer taking
      // 3 MB/s showed no progress for 8 s, and the progress watch dropped the peer as not reading.
      // In slices, each one written counts as taken (the writable queues them, in order).
      for (let off = 0; off < n; off += SLICE) {
        const len = Math.min(SLICE, n - off);
        this.#writer.write(bytes.subarray(off, off + len)).then(() => this.#written(len), () => this.#failed(len));
      }
    }
    // Congested when the writable says so, or when it takes bytes slower than they come: a writable
    // that counts chunks (Duplex.toWeb's counts up to 16 384 of them) would otherwise never say so.
    const free = this.#writer.desiredSize;
    if ((free !== null && free <= 0) || this.#pending > HIGH_WATER) {
      this.#congested = true;
      return false;
    }
    return true;
  }

  #written(n: number): void {
    this.#pending -= n;
    // Everything written: the driver may start a close timeout it held back, and 'drain' is due.
    if (this.#pending === 0 && this.#congested) {
      this.#congested = false;
      this.#driver?.drained();
    }
  }

  /**
   * A write was refused: the writable errored (its sink threw, the other end cancelled, the socket
   * under it broke), so nothing more can leave. That is the transport closing, as a reset is: the
   * connection closes (1006) rather than staying open with every later send lost and its close
   * frame never sent (it stayed OPEN, or CLOSING, while the readable went on).
   */
  #failed(n: number): void {
    this.#pending -= n;
    this.destroy();
  }

  pending(): number {
    return this.#pending;
  }

  end(): void {
    // The reader is cancelled once what was written has left: cancelling a Duplex.toWeb readable
    // destroys the socket under it, which dropped a large send still queued and the close reply
    // (the peer saw 1006 and no message).
    const cancel = () => void this.#reader.cancel().catch(() => {});
    this.#writer.close().then(cancel, cancel);
  }

  destroy(): void {
    this.#writer.abort().catch(() => {});
    this.#reader.cancel().catch(() => {});
    this.#close();
  }
}
