// Chooses the core: WASM SIMD where the engine has it, else the pure-TS reference (same results).
import type { BackendName, CoreBackend } from "./backend.js";
import { JsBackend } from "./js-backend.js";
import { loadWasmBackendAsync, loadWasmBackendSync } from "./wasm-backend.js";

let active: CoreBackend | undefined;
let forced: BackendName | undefined;
let whyNotWasm: string | undefined;

/** Thrown when the core is needed before `init()` finished where sync compilation is forbidden. */
export class NotInitializedError extends Error {
  constructor(cause: unknown) {
    super(
      "wasmsocket: this platform does not allow synchronous WebAssembly compilation here " +
        "(a browser main thread); call `await init()` once before using the library",
      { cause },
    );
    this.name = "NotInitializedError";
  }
}

function simdSupported(): boolean {
  // The smallest module that uses a v128 value: validates only where SIMD is implemented.
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
  ]);
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(probe);
  } catch {
    return false;
  }
}

/** Whether the WASM path should be tried; records why not otherwise. */
function wasmUsable(): boolean {
  if (forced === "js") return false;
  if (typeof WebAssembly !== "object") whyNotWasm = "WebAssembly is not available";
  else if (!simdSupported()) whyNotWasm = "this engine lacks WebAssembly SIMD";
  else return true;
  return false;
}

function isCompileForbidden(e: unknown): boolean {
  // Thrown for the WASM code-generation CSP (no 'wasm-unsafe-eval'): fall back to JS.
  return e instanceof WebAssembly.CompileError || (e instanceof Error && /code generation|CSP|unsafe-eval/i.test(e.message));
}

/** The active core, instantiated on first use. */
export function core(): CoreBackend {
  if (active) return active;
  if (!wasmUsable()) return (active = new JsBackend());
  try {
    active = loadWasmBackendSync();
  } catch (e) {
    if (isCompileForbidden(e)) {
      whyNotWasm = `WebAssembly compilation refused: ${(e as Error).message}`;
      active = new JsBackend();
    } else if (e instanceof RangeError) {
      throw new NotInitializedError(e);
    } else {
      throw e;
    }
  }
  return active;
}

/** Instantiates the core asynchronously (required once on a browser main thread). */
export async function init(): Promise<BackendName> {
  if (active) return active.name;
  if (!wasmUsable()) {
    active = new JsBackend();
  } else {
    try {
      active = await loadWasmBackendAsync();
    } catch (e) {
      whyNotWasm = `WebAssembly instantiation failed: ${(e as Error).message}`;
      active = new JsBackend();
    }
  }
  return active.name;
}

/** Which core is running, and why WASM is not when it is not. */
export function backendInfo(): { name: BackendName; reason?: string } {
  const name = core().name;
  return name === "js" ? { name, reason: forced === "js" ? "forced by useBackend('js')" : whyNotWasm } : { name };
}

/**
 * Forces a core ("js" or "wasm-simd"); takes effect for objects created afterwards. Tests run
 * everything on both. Returns the backend now active.
 */
export function useBackend(name: BackendName): CoreBackend {
  forced = name;
  if (name === "js") return (active = new JsBackend());
  active = undefined;
  forced = undefined;
  const b = core();
  if (b.name !== "wasm-simd") throw new Error(`wasmsocket: the WASM SIMD core is unavailable: ${whyNotWasm}`);
  return b;
}
