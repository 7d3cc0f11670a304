// wasmsocket: WebSocket (RFC 6455) with a WebAssembly SIMD core and a sans-I/O protocol layer.
export { mask, unmask, isValidUtf8, Utf8Validator } from "./core/api.js";
export { FrameScanner, type FrameScannerOptions, type FrameSink } from "./core/frame-scanner.js";
export { init, backendInfo, useBackend, NotInitializedError } from "./core/select.js";
export type { BackendName } from "./core/backend.js";
export { ScanError } from "./core/layout.js";
