// Every Connection the Deno adapter makes is made here: the one place that passes what the runtime
// provides to the core (bufferHost: Buffer's UTF-8 conversions and unzeroed allocation; the clock
// comes from the driver). Options given by the caller win.
import { Connection, type ConnectionOptions } from "../../protocol/connection.js";
import type { ClientRequestOptions } from "../../protocol/handshake/client.js";
import { bufferHost } from "../buffer-host.js";

type Options = ConnectionOptions & ClientRequestOptions;
/**
 * The options with bufferHost, made once per options object: a server's connections then share one
 * object, and so their resolved settings (made per connection before: ~170 B per idle connection).
 */
const withHost = new WeakMap<Options, Options>();

/** A server connection, or a client one for `url`. */
export function denoConnection(options: Options, url?: URL): Connection {
  let all = withHost.get(options);
  if (!all) withHost.set(options, (all = { ...bufferHost, ...options }));
  return url ? Connection.client(url, all) : Connection.server(all);
}
