// An independent, deliberately plain frame builder for tests (not the library's encoder).
export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv?: number; // 3 bits: RSV1 = 4, RSV2 = 2, RSV3 = 1
  /** 4-byte key, or undefined for an unmasked frame. */
  key?: Uint8Array;
  /** Force a length form: 7, 16 or 64 bits. */
  lengthForm?: 7 | 16 | 64;
  /** Override the announced length (64-bit form), for malformed frames. */
  announce?: bigint;
}

export function frame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === "string" ? new TextEncoder().encode(spec.payload) : spec.payload ?? new Uint8Array(0);
  const len = payload.length;
  const form = spec.lengthForm ?? (spec.announce !== undefined ? 64 : len <= 125 ? 7 : len <= 0xffff ? 16 : 64);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode];
  const m = spec.key ? 0x80 : 0;
  if (form === 7) head.push(m | len);
  else if (form === 16) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    const n = spec.announce ?? BigInt(len);
    for (let i = 7; i >= 0; i--) head.push(Number((n >> BigInt(i * 8)) & 0xffn));
  }
  if (spec.key) head.push(...spec.key);
  const out = new Uint8Array(head.length + len);
  out.set(head);
  for (let i = 0; i < len; i++) out[head.length + i] = payload[i]! ^ (spec.key ? spec.key[i & 3]! : 0);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);

/**
 * Reads a server's large send slowly, as a peer on a poor link would: counts the bytes, pauses after
 * each read (`pauseMs` when `slow`, else for good: a peer that stops reading), and answers the server's
 * close frame (1000) with its own, masked, once it arrives. `stream` is a net/tls socket or an HTTP/2 stream.
 */
export function readSlowly(
  stream: { on(e: "data", f: (d: Buffer) => void): unknown; pause(): unknown; resume(): unknown; end(b: Uint8Array): unknown },
  slow = true,
  pauseMs = 20,
): { readonly n: number; readonly tail: string } {
  let n = 0;
  let tail = Buffer.alloc(0);
  stream.on("data", (d: Buffer) => {
    n += d.length;
    tail = Buffer.concat([tail, d]).subarray(-4);
    if (tail.toString("hex") === "880203e8") return void stream.end(frame({ opcode: 8, payload: Uint8Array.from([0x03, 0xe8]), key: KEY }));
    stream.pause();
    if (slow) setTimeout(() => stream.resume(), pauseMs);
  });
  return {
    get n() {
      return n;
    },
    get tail() {
      return tail.toString("hex");
    },
  };
}
