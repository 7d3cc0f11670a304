// Reading a socket straight into core memory. Node can read a socket into a buffer of ours and hand
// over only the byte count (net.Socket's `onread` option): the kernel then writes received frames
// where the scanner reads them, so no 64 KiB buffer is allocated per read and nothing is copied
// into core memory. Node offers `onread` only when it creates the socket for connect(); sockets a
// server accepted or an HTTP server upgraded get the same mechanism switched on here, through the
// handle's useUserBuffer() and the three properties `onread` sets (their symbols are found on a
// probe socket). Anything unexpected leaves the socket on 'data' events, which work everywhere.
import * as net from "node:net";
import { TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";

interface ReadSymbols {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let symbols: ReadSymbols | null | undefined;
/** @internal Tests turn direct reads off to compare both paths. */
export const directReads = { enabled: true };

function readSymbols(): ReadSymbols | null {
  if (symbols !== undefined) return symbols;
  symbols = null;
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun || g.Deno) return symbols; // their node:net has no such handles
  try {
    const buffer = new Uint8Array(1);
    const callback = () => undefined;
    const probe = new net.Socket({ onread: { buffer, callback } } as net.SocketConstructorOpts);
    const own = probe as unknown as Record<symbol, unknown>;
    const keys = Object.getOwnPropertySymbols(probe);
    const b = keys.find((k) => own[k] === buffer);
    const c = keys.find((k) => own[k] === callback);
    const gen = keys.find((k) => k.description === "kBufferGen" && own[k] === null);
    probe.destroy();
    if (b && c && gen) symbols = { buffer: b, callback: c, generator: gen };
  } catch {
    // A Node without the option: stay on 'data' events.
  }
  return symbols;
}

interface StreamHandle {
  useUserBuffer?(buffer: Uint8Array): void;
  constructor: { name: string };
}

/**
 * Makes `socket` read into `window` and report each read as `onRead(byteCount)`, called with the
 * socket as `this`; it must consume the bytes before it returns (the next read, of any socket,
 * overwrites them), and returns false to stop reading (socket.resume() starts it again). Plain
 * TCP sockets only (not TLS), and only with nothing buffered yet; returns false, changing nothing,
 * otherwise.
 */
export function readIntoWindow<S extends Duplex>(socket: S, window: Uint8Array, onRead: (this: S, n: number) => boolean | void): boolean {
  if (!directReads.enabled || !(socket instanceof net.Socket) || socket instanceof TLSSocket) return false;
  const sym = readSymbols();
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (!sym || !handle || typeof handle.useUserBuffer !== "function" || handle.constructor.name !== "TCP") return false;
  const own = socket as unknown as Record<symbol, unknown>;
  if (socket.destroyed || socket.readableLength > 0 || own[sym.buffer] || own[sym.generator] !== null) return false;
  handle.useUserBuffer(window);
  own[sym.buffer] = window;
  own[sym.callback] = onRead;
  return true;
}
