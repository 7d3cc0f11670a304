// Every Connection the Bun adapter makes is made here: the one place that passes what the runtime
// provides to the core (bufferHost: Buffer's UTF-8 conversions and unzeroed allocation; the clock
// comes from the driver). Options given by the caller win.
import { Connection, type ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import { bufferHost } from "../buffer-host.js";

/** A server connection, or a client one for `url`. */
export function bunConnection(options: ConnectionOptions & ClientRequestOptions, url?: URL): Connection {
  const all = { ...bufferHost, ...options };
  return url ? Connection.client(url, all) : Connection.server(all);
}
