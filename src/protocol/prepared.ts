// One message framed once for many connections (publish/subscribe). A server's frames are not
// masked, so every subscriber can be sent the same bytes: the plain frame is built on first use,
// and a compressed frame is built once per kind of codec that carries no context between messages
// (permessage-deflate without server context takeover: same parameters, same bytes). Connections
// whose codec keeps a context must compress the message themselves (Outbound.sendPrepared).
import { encoder } from "../core/text.js";
import type { MessageCodec } from "./extensions/codec.js";
import { Opcode } from "./opcodes.js";
import { writeFrameHeader } from "./outbox.js";

/** An unmasked frame: header and payload in one buffer (RFC 6455 §5.2). */
export function frameBytes(opcode: number, rsv1: boolean, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const out = new Uint8Array((len <= 125 ? 2 : len <= 0xffff ? 4 : 10) + len);
  out.set(payload, writeFrameHeader(out, 0, 0x80 | (rsv1 ? 0x40 : 0) | opcode, len, false));
  return out;
}

export class PreparedMessage {
  readonly opcode: number;
  /** The payload as UTF-8 or binary bytes. */
  readonly bytes: Uint8Array;
  /** Whether a connection with a codec may compress it (the publisher's `compress`). */
  readonly compress: boolean;
  #plain: Uint8Array | undefined;
  /** Compressed frames by the codec's sharing key (the plain frame where the codec declined). */
  #shared: Map<string, Uint8Array> | undefined;

  constructor(data: string | Uint8Array, binary: boolean, compress: boolean) {
    this.bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.opcode = binary ? Opcode.Binary : Opcode.Text;
    this.compress = compress;
  }

  /** The uncompressed frame. */
  plainFrame(): Uint8Array {
    return (this.#plain ??= frameBytes(this.opcode, false, this.bytes));
  }

  /**
   * The frame for a connection with `codec`: compressed once for every codec with the same sharing
   * key; undefined when the codec keeps a context (the connection compresses for itself).
   */
  frameFor(codec: MessageCodec): Uint8Array | undefined {
    const key = codec.sharedKey;
    if (key === undefined) return undefined;
    let frame = this.#shared?.get(key);
    if (!frame) {
      const enc = codec.encode(this.bytes);
      frame = enc ? frameBytes(this.opcode, true, enc) : this.plainFrame();
      (this.#shared ??= new Map()).set(key, frame);
    }
    return frame;
  }
}
