// Where things live in a core's memory. Every user of a core (the scanners of all connections, the
// mask/UTF-8 helpers) shares one layout; each call copies its own small state in and out, so the
// memory holds nothing between calls and many connections can share one instance.
import type { CoreBackend } from "./backend.js";
import { ENTRY_SIZE, STATE_SIZE } from "./layout.js";

/** Frame-table entries per scan call; the scanner stops when full and is called again. */
export const TABLE_CAPACITY = 1024;
/** Bytes handed to one core call: bounds the memory a core ever grows to, whatever the input. */
export const SLICE = 256 * 1024;
/** Room for bytes a scan leaves behind: an incomplete header (≤ 14) or control frame (≤ 139). */
export const TAIL_ROOM = 256;

export interface Arena {
  statePtr: number;
  tablePtr: number;
  /** Input region of every core call: TAIL_ROOM bytes for a scanner's leftover, then the receive window (SLICE bytes at windowPtr). */
  inputPtr: number;
  /** Where a slice of input goes; a scanner's leftover bytes are put right before it. */
  windowPtr: number;
  size: number;
}

const arenas = new WeakMap<CoreBackend, Arena>();

/** The last backend asked about and its arena: there is one backend in use, and this runs on every read. */
let lastBackend: CoreBackend | undefined;
let lastArena: Arena | undefined;

export function arenaOf(b: CoreBackend): Arena {
  if (b === lastBackend) return lastArena!;
  let a = arenas.get(b);
  if (!a) {
    const statePtr = b.heapBase;
    const tablePtr = statePtr + STATE_SIZE;
    const inputPtr = tablePtr + TABLE_CAPACITY * ENTRY_SIZE;
    a = { statePtr, tablePtr, inputPtr, windowPtr: inputPtr + TAIL_ROOM, size: inputPtr + TAIL_ROOM + SLICE };
    b.ensureMemory(a.size);
    arenas.set(b, a);
  }
  lastBackend = b;
  lastArena = a;
  return a;
}

const windows = new WeakMap<CoreBackend, Uint8Array>();

/**
 * The receive window as a view: SLICE bytes of core memory that a transport may read into directly
 * (FrameScanner.pushWindow scans them where they are). Core memory never grows past the arena once
 * made (every user asks for `size`), so the bytes behind this view stay where they are.
 */
export function receiveWindowOf(b: CoreBackend): Uint8Array {
  let w = windows.get(b);
  if (!w || w.buffer !== b.bytes.buffer) {
    const { windowPtr, size } = arenaOf(b);
    b.ensureMemory(size);
    w = new Uint8Array(b.bytes.buffer, windowPtr, SLICE);
    windows.set(b, w);
  }
  return w;
}
