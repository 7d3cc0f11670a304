// Closing one of our WebSocketServers in tests. ws 8's close() leaves open clients alone, and on the
// own listener its 'close' waits until every connection is gone: end the clients first, so a test
// that left one open (or failed half-way) cannot hold its afterAll (and the run) up.
import type { WebSocketServer } from "../../src/node.js";

export function closeServer(wss: WebSocketServer): Promise<void> {
  for (const ws of wss.clients ?? []) ws.terminate();
  return new Promise((resolve) => wss.close(() => resolve()));
}
