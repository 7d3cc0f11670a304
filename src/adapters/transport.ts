// What an adapter gives the driver for one connection: a duplex byte stream, however the runtime
// spells it (a Node socket, a Deno.Conn, a Bun socket, a WHATWG stream pair).
export interface Transport {
  /**
   * Writes the chunks in order; false when the transport is congested (wait for drained()). `done`,
   * where given, runs once the chunks were handed to the operating system (or with the error that
   * stopped them); transports without `reportsWrites` never get one.
   */
  write(chunks: Uint8Array[], done?: (err?: Error | null) => void): boolean;
  /**
   * Optional: writes bytes[offset, offset + length) as write([that subarray]) would, without the
   * subarray (Bun's socket.write takes an offset and length). No `done`: used only without callbacks.
   */
  writeRange?(bytes: Uint8Array, offset: number, length: number): boolean;
  /** True when write() calls its `done` callback (Node sockets); otherwise callbacks run after write(). */
  readonly reportsWrites?: boolean;
  /** True when the transport writes several chunks in one call (writev); otherwise it joins them. */
  readonly vectored?: boolean;
  /** True when the chunks of the last write() are no longer referenced (sent, or copied aside). */
  consumed?(): boolean;
  /** Bytes written but not yet taken by the operating system (0, or absent, when it keeps none). */
  pending?(): number;
  /**
   * True when the driver must not stop reading while writes wait (only the application's pause()
   * stops it): set for clients, whose queued bytes are their own sends, and whose reading is what lets
   * a server that itself stops reading while congested (ours) take them. Two ends that both stopped
   * reading until their writes drained would wait for each other forever: at once over an HTTP/2
   * stream's 64 KiB window, past the kernel's buffers over TCP.
   */
  readonly readsWhileCongested?: boolean;
  /** Stops (true) or restarts (false) reading, where the transport can. */
  pauseReading?(paused: boolean): void;
  /** Closes after what was written is flushed. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}
