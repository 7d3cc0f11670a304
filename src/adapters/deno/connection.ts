// Every Connection the Deno adapter makes is made here: the one place that passes what the runtime
// provides (options that every connection gets) to the core.
import { Connection, type ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";

/** A server connection, or a client one for `url`. */
export function denoConnection(options: ConnectionOptions & ClientRequestOptions, url?: URL): Connection {
  return url ? Connection.client(url, options) : Connection.server(options);
}
