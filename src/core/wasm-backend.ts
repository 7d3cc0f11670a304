// Loads the inlined WASM core. Synchronous compilation works in Node, Deno, Bun, workers and
// ES-module service workers; a browser main thread refuses it for modules over 4 KB, so an async
// path (`loadWasmBackendAsync`) is offered too.
import type { CoreBackend } from "./backend.js";
import { WASM_HEX } from "./wasm-binary.generated.js";

interface CoreExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  maskInPlace(ptr: number, len: number, key: number, keyOffset: number): void;
  utf8Validate(ptr: number, len: number, state: number, masked: number, key: number, keyOffset: number): number;
  scan(inPtr: number, inLen: number, tablePtr: number, tableCap: number, statePtr: number): void;
}

const PAGE = 65536;

export function wasmBytes(): Uint8Array {
  const out = new Uint8Array(WASM_HEX.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(WASM_HEX.substr(2 * i, 2), 16);
  return out;
}

class WasmBackend implements CoreBackend {
  readonly name = "wasm-simd" as const;
  readonly heapBase: number;
  bytes: Uint8Array;
  words: Int32Array;
  readonly #memory: WebAssembly.Memory;
  readonly maskInPlace: CoreExports["maskInPlace"];
  readonly scan: CoreExports["scan"];
  readonly #validate: CoreExports["utf8Validate"];

  constructor(instance: WebAssembly.Instance) {
    const x = instance.exports as unknown as CoreExports;
    this.#memory = x.memory;
    this.heapBase = (x.heapBase() + 15) & ~15;
    this.maskInPlace = x.maskInPlace;
    this.scan = x.scan;
    this.#validate = x.utf8Validate;
    this.bytes = new Uint8Array(this.#memory.buffer);
    this.words = new Int32Array(this.#memory.buffer);
  }

  ensureMemory(size: number): void {
    // Live views over enough memory: nothing to do. Growing a WebAssembly memory detaches its old
    // buffer (a detached view's length reads 0), so views that still have the length are current.
    // Checked first: each .buffer getter below costs ~10 ns on JavaScriptCore, and this runs on
    // every read (in-process 32 B echo on Bun 1.4.5, 4 messages a read: ~15 ns less per message).
    if (size <= this.bytes.length) return;
    if (size <= this.#memory.buffer.byteLength) {
      // Another user of this instance may have grown it: re-derive stale views.
      if (this.bytes.buffer !== this.#memory.buffer) this.#refreshViews();
      return;
    }
    this.#memory.grow(Math.ceil((size - this.#memory.buffer.byteLength) / PAGE));
    this.#refreshViews();
  }

  #refreshViews(): void {
    this.bytes = new Uint8Array(this.#memory.buffer);
    this.words = new Int32Array(this.#memory.buffer);
  }

  utf8Validate(ptr: number, len: number, state: number, masked: boolean, key: number, keyOffset: number): number {
    return this.#validate(ptr, len, state, masked ? 1 : 0, key, keyOffset);
  }
}

/** Compiles and instantiates synchronously. Throws where the platform forbids that. */
export function loadWasmBackendSync(): CoreBackend {
  const module = new WebAssembly.Module(wasmBytes() as BufferSource);
  return new WasmBackend(new WebAssembly.Instance(module, {}));
}

export async function loadWasmBackendAsync(): Promise<CoreBackend> {
  const { instance } = await WebAssembly.instantiate(wasmBytes() as BufferSource, {});
  return new WasmBackend(instance);
}
