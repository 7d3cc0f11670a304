// Every Connection the Bun adapter makes is made here: the one place that passes what the runtime
// provides to the core (bufferHost: unzeroed allocation; bunText: Buffer's UTF-8 conversions; the
// clock comes from the driver). Options given by the caller win.
import { Connection, type ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import { bufferHost } from "../buffer-host.js";
import { bunText } from "./text.js";

/** A server connection, or a client one for `url`. */
export function bunConnection(options: ConnectionOptions & ClientRequestOptions, url?: URL): Connection {
  const all = { ...bufferHost, text: bunText, ...options };
  return url ? Connection.client(url, all) : Connection.server(all);
}
