// The sending half of a connection: messages to frames (RFC 6455 §5.4–5.5), compressed (RFC 7692)
// and split as configured, into the outbox. Whether sending is allowed is the connection's call.
import { encoder } from "../core/text.js";
import { MAX_CLOSE_REASON_BYTES } from "./close-codes.js";
import { InvalidStateError } from "./errors.js";
import type { MessageCodec } from "./extensions/codec.js";
import { MAX_CONTROL_PAYLOAD } from "./limits.js";
import { Opcode } from "./opcodes.js";
import { Outbox, type OutboxIo } from "./outbox.js";
import type { PreparedMessage } from "./prepared.js";

const EMPTY = new Uint8Array(0);

/** The outbox's own settings, and the size messages are split at (0: never). */
export interface OutboundIo extends OutboxIo {
  readonly fragmentSize: number;
}

/**
 * Outbound's bits of Outbox#bits (4-7): B_FRAGMENTING, a message is being sent in pieces
 * (sendFragment) and is not finished; B_CLOSE_SENT, our close frame is queued.
 */
const B_FRAGMENTING = 16, B_CLOSE_SENT = 32;

export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * The frame encoder and byte queue it writes into (Outbox) are one object, this one: a subclass
 * rather than a field, so an idle connection holds one object and one reference less (~40 B).
 */
export class Outbound extends Outbox<OutboundIo> {
  #codec: MessageCodec | undefined;

  /** `io`: the connection's settings (text codec, allocator, fragment size), shared by its server's connections. */
  constructor(masking: boolean, io: OutboundIo) {
    super(masking, io);
  }

  /** Our close frame is queued: nothing else is sent after it. */
  get closeSent(): boolean {
    return (this.bits & B_CLOSE_SENT) !== 0;
  }

  /** The extension codec agreed in the opening handshake. */
  useCodec(codec: MessageCodec | undefined): void {
    this.#codec = codec;
  }

  get codec(): MessageCodec | undefined {
    return this.#codec;
  }

  /** A string as text, bytes as binary (or as text with `binary: false`, for known-valid UTF-8). */
  send(data: SendData, options: { binary?: boolean; compress?: boolean }): void {
    if ((this.bits & B_FRAGMENTING) !== 0) throw new InvalidStateError("send: a fragmented message is in progress");
    const payload = toPayload(data);
    const opcode = options.binary ?? typeof payload !== "string" ? Opcode.Binary : Opcode.Text;
    let body: Uint8Array | string = payload;
    let rsv1 = false;
    if (this.#codec && options.compress !== false) {
      const enc = this.#codec.encode(payload);
      if (enc) {
        body = enc;
        rsv1 = true;
      }
    }
    const size = this.io.fragmentSize;
    if (size > 0 && (typeof body === "string" ? body.length * 3 > size : body.length > size)) {
      const bytes = typeof body === "string" ? encoder.encode(body) : body;
      for (let at = 0; at < bytes.length; at += size) {
        const last = at + size >= bytes.length;
        this.writeFrame(at === 0 ? opcode : Opcode.Continuation, last, rsv1 && at === 0, bytes.subarray(at, at + size));
      }
      return;
    }
    this.writeFrame(opcode, true, rsv1, body);
  }

  /**
   * A published message: its shared frame bytes where the role and codec allow (a server, and a
   * codec without context or none), else encoded here like send(). False, and nothing sent, in the
   * middle of a fragmented message (a data frame cannot go between its pieces).
   */
  sendPrepared(msg: PreparedMessage, masking: boolean): boolean {
    if ((this.bits & B_FRAGMENTING) !== 0) return false;
    const codec = msg.compress ? this.#codec : undefined;
    const frame = masking || this.io.fragmentSize > 0 ? undefined : codec ? msg.frameFor(codec) : msg.plainFrame();
    if (frame) this.writeFrameBytes(frame);
    else this.send(msg.bytes, { binary: msg.opcode === Opcode.Binary, compress: msg.compress });
    return true;
  }

  /** One piece of a message, uncompressed; `fin` ends it. Control frames may go between pieces. */
  sendFragment(data: string | Uint8Array, binary: boolean | undefined, fin: boolean): void {
    const opcode = (this.bits & B_FRAGMENTING) !== 0 ? Opcode.Continuation : binary ?? typeof data !== "string" ? Opcode.Binary : Opcode.Text;
    this.writeFrame(opcode, fin, false, data);
    this.bits = fin ? this.bits & ~B_FRAGMENTING : this.bits | B_FRAGMENTING;
  }

  /** A ping or pong; at most 125 bytes (RFC 6455 §5.5). */
  control(opcode: number, data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > MAX_CONTROL_PAYLOAD) throw new RangeError("control frame payload over 125 bytes");
    this.writeFrame(opcode, true, false, bytes);
  }

  /** Our close frame, once: with `code` undefined it carries no status (and so no reason). */
  close(code: number | undefined, reason: string): void {
    if (this.closeSent) return;
    this.bits |= B_CLOSE_SENT;
    if (code === undefined) return this.writeFrame(Opcode.Close, true, false, EMPTY);
    let r = encoder.encode(reason);
    // An echoed reason that re-encodes longer than a close frame allows (unchecked bytes decoded
    // with replacement characters) is left out.
    if (r.length > MAX_CLOSE_REASON_BYTES) r = EMPTY;
    const payload = new Uint8Array(2 + r.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(r, 2);
    this.writeFrame(Opcode.Close, true, false, payload);
  }
}

function toPayload(data: SendData): string | Uint8Array {
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("send: data must be a string, an ArrayBuffer or a view of one");
}
