// The opening handshake as a connection runs it (RFC 6455 §4). The server reads the upgrade
// request, holds it until the application accepts or rejects it, and keeps what the client sends
// meanwhile; the client sends its request and checks the server's 101. Errors are thrown as
// HandshakeError; the connection turns them into its failure.
import { HandshakeError } from "../errors.js";
import type { ExtensionNegotiator, MessageCodec } from "../extensions/codec.js";
import { HeadParser } from "./http.js";
import { switchingProtocols, parseUpgradeRequest, type AcceptOptions, type UpgradeRequest } from "./server.js";
import { buildRequest, validateResponse, type ClientRequestOptions } from "./client.js";

interface HeadLimits {
  maxHandshakeBytes: number;
  maxHeaders: number;
  maxFrameSize: number;
}

export class ServerOpening {
  readonly #head: HeadParser;
  /** The request awaiting accept() or reject(). */
  request: UpgradeRequest | undefined;
  /** Bytes that arrived after the request head, before our answer: frames for after accept(). */
  #early: Uint8Array[] = [];
  #earlyBytes = 0;
  readonly #maxEarly: number;

  constructor(limits: HeadLimits) {
    this.#head = new HeadParser({ maxBytes: limits.maxHandshakeBytes, maxHeaders: limits.maxHeaders });
    this.#maxEarly = limits.maxFrameSize + limits.maxHandshakeBytes;
  }

  /** Feeds received bytes; returns the request when its head is complete. */
  receive(bytes: Uint8Array): UpgradeRequest | undefined {
    if (this.request) {
      this.#earlyBytes += bytes.length;
      if (this.#earlyBytes > this.#maxEarly) throw new HandshakeError("too much data before the handshake completed", 400);
      this.#early.push(new Uint8Array(bytes)); // a copy: the caller may reuse its buffer
      return undefined;
    }
    const parsed = this.#head.push(bytes);
    if (!parsed) return undefined;
    this.request = parseUpgradeRequest(parsed.head);
    if (parsed.rest.length) {
      this.#early.push(parsed.rest);
      this.#earlyBytes = parsed.rest.length;
    }
    return this.request;
  }

  /** The 101 for the pending request (which stops being pending). Throws with it still pending on invalid options. */
  accept(options: AcceptOptions): Uint8Array {
    const req = this.request!;
    if (options.protocol && !req.protocols.includes(options.protocol)) throw new TypeError("accept: protocol was not offered");
    const response = switchingProtocols(req, options);
    this.request = undefined;
    return response;
  }

  /** What the client sent after its request, to be read as frames once open. */
  takeEarlyData(): Uint8Array[] {
    const early = this.#early;
    this.#early = [];
    return early;
  }
}

/** What the server's 101 agreed on. */
export interface Opened {
  protocol: string;
  extensions: string;
  codec: MessageCodec | undefined;
  /** Bytes after the response head: the first frames. */
  rest: Uint8Array;
}

export class ClientOpening {
  readonly #head: HeadParser;
  readonly #key: string;
  readonly #protocols: string[];
  readonly #negotiator: ExtensionNegotiator | undefined;
  /** The upgrade request to send. */
  readonly request: Uint8Array;

  constructor(url: URL, options: ClientRequestOptions & { negotiator?: ExtensionNegotiator | undefined }, limits: HeadLimits) {
    this.#negotiator = options.negotiator;
    const req = buildRequest(url, { ...options, extensions: options.extensions ?? options.negotiator?.offer });
    this.#key = req.key;
    this.request = req.bytes;
    this.#protocols = options.protocols ?? [];
    this.#head = new HeadParser({ maxBytes: limits.maxHandshakeBytes, maxHeaders: limits.maxHeaders });
  }

  /** Feeds received bytes; returns what was agreed once the server's 101 is complete and valid. */
  receive(bytes: Uint8Array): Opened | undefined {
    const parsed = this.#head.push(bytes);
    if (!parsed) return undefined;
    const res = validateResponse(parsed.head, this.#key, this.#protocols);
    let codec: MessageCodec | undefined;
    if (this.#negotiator) codec = this.#negotiator.accept(res.extensions);
    else if (res.extensions) throw new HandshakeError("server accepted an extension we did not offer", 502, "WS_ERR_BAD_EXTENSIONS");
    return { protocol: res.protocol, extensions: res.extensions, codec, rest: parsed.rest };
  }
}
