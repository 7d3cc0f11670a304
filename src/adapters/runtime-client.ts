// What the Deno and Bun clients share before each opens its runtime's socket: the options, the
// URL's checks, where to connect, and the certificates to trust.
import type { ConnectionOptions } from "../protocol/connection.js";
import type { DriverLimits } from "./progress-watch.js";
import type { ExtensionNegotiator } from "../protocol/extensions/codec.js";
import type { ClientRequestOptions } from "../protocol/handshake/client.js";
import { clientNegotiator, type PerMessageDeflateOptions } from "./deflate.js";
import { pem } from "./serve.js";

export interface ClientOptions extends ConnectionOptions, ClientRequestOptions, DriverLimits {
  /** Offer permessage-deflate (default true), with options in ws's names or ours. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** wss://: certificates (PEM) to trust besides the system's, e.g. a test server's self-signed one. */
  ca?: string | Uint8Array | (string | Uint8Array)[];
}

export interface ClientTarget {
  url: URL;
  secure: boolean;
  /** The host to connect to (an IPv6 address without its brackets) and the port. */
  hostname: string;
  port: number;
  /** The CA certificates as PEM strings, when given. */
  ca: string[] | undefined;
  /** The Connection's options: the caller's, with the deflate offer. */
  connection: ConnectionOptions & ClientRequestOptions & { negotiator: ExtensionNegotiator | undefined };
}

/** Checks `url` (ws:// or wss://; SyntaxError otherwise, naming `entry`) and works out where to connect. */
export function clientTarget(entry: string, url: string, options: ClientOptions): ClientTarget {
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new SyntaxError(`${entry}: not a WebSocket URL: ${url}`);
  const secure = u.protocol === "wss:";
  return {
    url: u,
    secure,
    hostname: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(u.port) || (secure ? 443 : 80),
    ca: options.ca === undefined ? undefined : (Array.isArray(options.ca) ? options.ca : [options.ca]).map(pem),
    connection: { negotiator: clientNegotiator(options.perMessageDeflate ?? true), ...options },
  };
}
