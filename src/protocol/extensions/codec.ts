// The extension seam: what a negotiated extension gives the connection (a codec) and what a client
// uses to offer one and take the server's answer (a negotiator). permessage-deflate implements both;
// the connection only knows these two interfaces, so neither side imports the other.

/** A negotiated extension that transforms whole messages marked with RSV1 (permessage-deflate). */
export interface MessageCodec {
  /** Decodes a received RSV1 message; at most `maxSize` bytes out, else MessageTooBigError. */
  decode(data: Uint8Array, maxSize: number): Uint8Array;
  /** Encodes an outgoing message, or returns undefined to send it as it is. */
  encode(data: Uint8Array | string): Uint8Array | undefined;
  /**
   * Set when encode() carries nothing from one message to the next: codecs with the same key give
   * the same bytes for the same message, so a published message is compressed once for all of them.
   */
  readonly sharedKey?: string | undefined;
  /** Releases the codec's resources when the connection ends. */
  close?(): void;
}

/** A client's extension offer and the check of the server's answer. */
export interface ExtensionNegotiator {
  offer: string;
  /** Returns the codec for the agreed extension (undefined if none); throws HandshakeError if invalid. */
  accept(response: string): MessageCodec | undefined;
}
