// The WebAssembly core: bulk byte work only. It allocates nothing; JS owns the memory layout.
export { maskInPlace } from "./mask";
export { utf8Validate } from "./utf8";
export { scan } from "./scan";
export {
  STATE_SIZE, ENTRY_SIZE, ERR_INVALID_UTF8, ERR_MESSAGE_TOO_BIG, F_START_PENDING, S_ERROR,
} from "./layout";

/** First byte after the module's static data: JS lays out its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}
