// Collects the payload pieces of a message that arrives in more than one piece. Small pieces are
// packed into shared blocks, so memory stays proportional to the message size however small the
// fragments (100 000 one-byte fragments cost ~100 KB, not 100 000 buffers).
const SMALL = 16 * 1024;
const BLOCK_MAX = 64 * 1024;

export class MessageAssembler {
  private parts: Uint8Array[] = [];
  private total = 0;
  private block: Uint8Array | undefined;
  private blockLen = 0;

  get length(): number {
    return this.total;
  }

  /** Copies bytes[ptr, ptr+len) in. */
  append(bytes: Uint8Array, ptr: number, len: number): void {
    this.total += len;
    if (len >= SMALL) {
      this.sealBlock();
      this.parts.push(bytes.slice(ptr, ptr + len));
      return;
    }
    if (!this.block || this.blockLen + len > this.block.length) {
      if (this.block && this.block.length < BLOCK_MAX && this.blockLen + len <= BLOCK_MAX) {
        const grown = new Uint8Array(Math.min(BLOCK_MAX, Math.max(this.block.length * 2, this.blockLen + len)));
        grown.set(this.block.subarray(0, this.blockLen));
        this.block = grown;
      } else {
        this.sealBlock();
        this.block = new Uint8Array(Math.max(1024, len));
      }
    }
    this.block.set(bytes.subarray(ptr, ptr + len), this.blockLen);
    this.blockLen += len;
  }

  private sealBlock(): void {
    if (this.block && this.blockLen > 0) this.parts.push(this.block.subarray(0, this.blockLen));
    this.block = undefined;
    this.blockLen = 0;
  }

  /** The whole message (owned by the caller), and a reset for the next one. */
  take(): Uint8Array {
    this.sealBlock();
    const parts = this.parts;
    const total = this.total;
    this.parts = [];
    this.total = 0;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
