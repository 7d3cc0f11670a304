// createWebSocketStream(ws, options): ws 8's Duplex over a WebSocket. Messages are the readable side,
// writes are sent (a Buffer as binary, a string as text when decodeStrings is false), and a full
// readable buffer pauses the socket until the stream reads again.
//
// Only the public ws API is used (readyState, send(data, cb), close(), terminate(), pause(), resume(),
// isPaused, events 'open' 'message' 'close' 'error'), so any ws-compatible WebSocket works: ours or
// ws's. Where ws reads its own internals we use a public equivalent:
// - ws ends _final() on its TCP socket's 'finish' (both close frames exchanged); we end it on the
//   WebSocket's 'close', which follows soon after. Because 'end' (pushed on 'close') may then come
//   before 'finish', the stream is destroyed on whichever of the two comes last.
// - ws makes _final() wait silently when a client has no socket (handshake failed); we wait for
//   'close' whenever the WebSocket is already CLOSING: its 'error' comes first and destroys us.
import { Duplex, type DuplexOptions } from "node:stream";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** The part of a ws-compatible WebSocket the stream uses. */
export interface StreamableWebSocket {
  readonly readyState: number;
  readonly isPaused?: boolean;
  send(data: Buffer | string, cb?: (err?: Error) => void): void;
  close(): void;
  terminate(): void;
  pause?(): void;
  resume?(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/** A message as a readable chunk: ws gives Buffers, but other binaryTypes are turned into one. */
function toChunk(data: unknown, isBinary: boolean, objectMode: boolean): unknown {
  if (objectMode) {
    if (isBinary) return data;
    return typeof data === "string" ? data : Buffer.isBuffer(data) ? data.toString() : String(data);
  }
  if (typeof data === "string" || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Buffer.concat(data as Uint8Array[]); // binaryType 'fragments'
  return data;
}

function emitClose(stream: Duplex): void {
  stream.emit("close");
}

/** Destroys the stream once both sides are done (autoDestroy is off: 'close' must wait for the socket). */
function destroyWhenDone(this: Duplex): void {
  if (!this.destroyed && this.readableEnded && this.writableFinished) this.destroy();
}

/** Any 'error' destroys the stream; rethrown as ws does when the application has no listener. */
function duplexOnError(this: Duplex, err: Error): void {
  this.removeListener("error", duplexOnError);
  this.destroy();
  if (this.listenerCount("error") === 0) this.emit("error", err);
}

export function createWebSocketStream(ws: StreamableWebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });

  ws.on("message", (data: unknown, isBinary: boolean) => {
    if (!duplex.push(toChunk(data, isBinary, duplex.readableObjectMode))) ws.pause?.();
  });

  ws.once("error", (err: Error) => {
    if (duplex.destroyed) return;
    // The WebSocket closes itself after an error; destroying must not cut that short.
    terminateOnDestroy = false;
    duplex.destroy(err);
  });

  ws.once("close", () => {
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = (err, callback) => {
    if (ws.readyState === CLOSED) {
      callback(err);
      process.nextTick(emitClose, duplex);
      return;
    }
    // 'close' waits for the WebSocket; an error it reports meanwhile (e.g. a bad compressed frame
    // already read) replaces ours rather than being lost.
    let called = false;
    ws.once("error", (wsErr: Error) => {
      called = true;
      callback(wsErr);
    });
    ws.once("close", () => {
      if (!called) callback(err);
      process.nextTick(emitClose, duplex);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    const state = ws.readyState;
    if (state === CONNECTING) {
      ws.once("open", () => duplex._final(callback));
      return;
    }
    if (state === CLOSED) {
      callback();
      return;
    }
    ws.once("close", () => callback());
    if (state === OPEN) ws.close();
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume?.();
  };

  duplex._write = (chunk: Buffer | string, _encoding, callback) => {
    if (ws.readyState === CONNECTING) {
      ws.once("open", () => duplex._write(chunk, _encoding, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  duplex.on("end", destroyWhenDone);
  duplex.on("finish", destroyWhenDone);
  duplex.on("error", duplexOnError);

  return duplex;
}
