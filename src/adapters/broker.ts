export interface Broker {
  /**
   * Messages published by other processes on subscribed topics: set by the server that uses the
   * broker. `compress` is the publisher's choice (publish's third argument); undefined counts as true.
   */
  onMessage: ((topic: string, data: Uint8Array, binary: boolean, compress?: boolean) => void) | undefined;
  /** This process has its first local subscriber to `topic` (idempotent). */
  subscribe(topic: string): void;
  /** This process has no local subscriber to `topic` left (idempotent). */
  unsubscribe(topic: string): void;
  /** Sends a message to the other processes (the caller already delivered it locally). False when it could not be taken (outage bound reached): the caller reports it. */
  publish(topic: string, data: Uint8Array, binary: boolean, compress?: boolean): boolean;
  /** Errors the broker could not handle itself (outage overflow, lost connection): the server emits them as 'error'. */
  onError: ((err: Error) => void) | undefined;
  close(): Promise<void>;
}
