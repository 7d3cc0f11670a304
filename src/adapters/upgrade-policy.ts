// How every server of ours decides on a WebSocket upgrade request, whatever parsed it (Node's http
// server, or the core's Connection.server() under Deno, Bun and overStreams): ws's checks of the
// request and their messages, the subprotocol list, permessage-deflate, verifyClient in both of
// ws's forms (failing closed), and handleProtocols. No I/O: the adapter reads the decision and
// writes the 101 or the refusal its own way (Node: text on the socket, with the 'headers' event;
// the others: conn.accept() / conn.reject()).
import type { MessageCodec } from "../protocol/connection.js";
import type { DeflateEngine } from "../protocol/extensions/deflate-engine.js";
import { parseExtensions } from "../protocol/extensions/header.js";
import { deflateForServer, EXTENSION_NAME, type DeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { isValidClientKey } from "../protocol/handshake/accept.js";
import { TOKEN } from "../protocol/handshake/client.js";
import type { UpgradeRequest } from "../protocol/handshake/server.js";

/** Response headers as Node types them (http.OutgoingHttpHeaders): a list repeats the header. */
export type ResponseHeaders = Record<string, string | number | readonly string[] | undefined>;

/**
 * What the policy reads of a request. Node's IncomingMessage is one as it is (`req.headers` holds
 * lower-case names, repeated lines joined with ", "); a request the core parsed is seen through
 * requestView().
 */
export interface RequestView {
  readonly method?: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** ws's asynchronous answer: accept with `true`; anything else refuses with `code` (default 401). */
export type VerifyClientCallback = (result: boolean, code?: number, message?: string, headers?: ResponseHeaders) => void;

/**
 * verifyClient, both forms: `(info) => answer` (`true`, a status to refuse with, or a promise of
 * either; anything else refuses with 401) and ws's `(info, callback) => void` (what it returns is
 * ignored), told apart by the function's length as ws does. One signature rather than a union of
 * the two, so that the parameters of an inline hook get their types.
 */
export type VerifyClient<Info> = (info: Info, callback: VerifyClientCallback) => unknown;

export interface UpgradePolicy<Info> {
  /** Only an explicit `true` accepts; a hook that throws (or whose promise rejects) answers 500. */
  verifyClient?: VerifyClient<Info> | undefined;
  /** What verifyClient is called with, made only when it is. */
  verifyInfo: () => Info;
  /** Picks the subprotocol from the offered ones (a Set, in the client's order); absent: the first, as in ws. */
  handleProtocols?: ((offered: Set<string>) => unknown) | undefined;
  /** permessage-deflate to agree to (undefined: none), on `deflate.engine` or else `engine`. */
  deflate: DeflateOptions | undefined;
  engine: DeflateEngine;
  /**
   * A malformed Sec-WebSocket-Extensions, or a permessage-deflate offer none of whose variants can
   * be taken: true refuses the request (400, as ws does), false declines the extension (RFC 7692 §5).
   */
  refuseUnacceptableDeflate: boolean;
  /** ws's shouldHandle (a path): false refuses with a bare 400, after the header checks. */
  shouldHandle?: (() => boolean) | undefined;
  /**
   * Asked once verifyClient said yes, before handleProtocols: "gone" when the request can no longer
   * be answered (the client left, the handshake timed out), a status to refuse with (503: the server
   * is closing), or undefined to go on.
   */
  stillWanted?: (() => "gone" | number | undefined) | undefined;
}

export type UpgradeDecision =
  | { type: "accept"; protocol: string; deflate: { extensions: string; codec: MessageCodec } | undefined }
  /** A check of the request failed (Node: the 'wsClientError' listener, if any, answers instead). */
  | { type: "invalid"; status: number; message: string; headers?: ResponseHeaders }
  /** verifyClient said no, shouldHandle did not take it, or the server is closing. */
  | { type: "refused"; status: number; message?: string | undefined; headers?: ResponseHeaders | undefined }
  /** A hook threw: answered 500. */
  | { type: "failed"; status: 500; error: unknown }
  | { type: "gone" };

/** A request the core parsed, seen as the policy reads requests (header lines joined as Node joins them). */
export function requestView(request: UpgradeRequest): RequestView {
  const headers: Record<string, string> = Object.create(null);
  for (const [name, values] of request.head.headers) headers[name] = values.join(", ");
  return { method: request.method, headers };
}

/** Parses Sec-WebSocket-Protocol as ws does: a Set of tokens; undefined for a malformed list (an empty or repeated name). */
export function parseProtocols(header: string): Set<string> | undefined {
  const out = new Set<string>();
  for (const raw of header.split(",")) {
    const p = raw.trim();
    if (!TOKEN.test(p) || out.has(p)) return undefined;
    out.add(p);
  }
  return out;
}

/** ws's `code || 401`, kept to statuses that refuse (a redirect to a login page is one). */
function refusalStatus(code: unknown): number {
  return typeof code === "number" && Number.isInteger(code) && code >= 300 && code <= 599 ? code : 401;
}

function header(view: RequestView, name: string): string | undefined {
  const v = view.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/**
 * ws's checks of an upgrade request, in ws's order and with its statuses and messages: undefined
 * when it passes. For requests that Node parsed; one the core parsed (Connection.server()) has
 * already been checked against RFC 6455 §4.2.1 by parseUpgradeRequest, so acceptOn does not call
 * this (and browser bundles leave it out).
 */
export function checkRequest(view: RequestView): Extract<UpgradeDecision, { type: "invalid" }> | undefined {
  if (view.method !== "GET") return { type: "invalid", status: 405, message: "Invalid HTTP method" };
  const upgrade = header(view, "upgrade");
  if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return { type: "invalid", status: 400, message: "Invalid Upgrade header" };
  const key = header(view, "sec-websocket-key");
  if (key === undefined || !isValidClientKey(key)) return { type: "invalid", status: 400, message: "Missing or invalid Sec-WebSocket-Key header" };
  const version = Number(header(view, "sec-websocket-version"));
  if (version !== 13 && version !== 8) {
    return { type: "invalid", status: 400, message: "Missing or invalid Sec-WebSocket-Version header", headers: { "Sec-WebSocket-Version": "13, 8" } };
  }
  return undefined;
}

/**
 * Decides on a checked request (checkRequest(), or the core's parse) as `policy` says; `done` gets
 * the decision exactly once: before this returns,
 * unless verifyClient answers later (a callback or a promise). A permessage-deflate codec made for a
 * request that is not accepted is closed here.
 */
export function decideUpgrade<Info>(view: RequestView, policy: UpgradePolicy<Info>, done: (decision: UpgradeDecision) => void): void {
  if (policy.shouldHandle && !policy.shouldHandle()) return done({ type: "refused", status: 400 });
  const protocolHeader = header(view, "sec-websocket-protocol");
  const offered = protocolHeader === undefined ? new Set<string>() : parseProtocols(protocolHeader);
  if (!offered) return done({ type: "invalid", status: 400, message: "Invalid Sec-WebSocket-Protocol header" });

  let deflate: { extensions: string; codec: MessageCodec } | undefined;
  const extensionHeader = header(view, "sec-websocket-extensions");
  if (policy.deflate && extensionHeader !== undefined) {
    try {
      deflate = deflateForServer([extensionHeader], policy.deflate, policy.engine);
      if (!deflate && policy.refuseUnacceptableDeflate && parseExtensions([extensionHeader]).some((e) => e.name === EXTENSION_NAME)) {
        throw new SyntaxError("no acceptable permessage-deflate offer");
      }
    } catch {
      // A malformed header (parseExtensions throws) or options out of range (deflateForServer does).
      if (policy.refuseUnacceptableDeflate) return done({ type: "invalid", status: 400, message: "Invalid or unacceptable Sec-WebSocket-Extensions header" });
      deflate = undefined;
    }
  }

  let answered = false;
  const finish = (decision: UpgradeDecision) => {
    if (answered) return;
    answered = true;
    if (decision.type !== "accept") deflate?.codec.close?.();
    done(decision);
  };
  const accepted = () => {
    const state = policy.stillWanted?.();
    if (state === "gone") return finish({ type: "gone" });
    if (state !== undefined) return finish({ type: "refused", status: state });
    let protocol = "";
    if (offered.size) {
      try {
        const chosen = policy.handleProtocols ? policy.handleProtocols(offered) : offered.values().next().value;
        if (chosen) protocol = String(chosen);
      } catch (error) {
        return finish({ type: "failed", status: 500, error });
      }
    }
    finish({ type: "accept", protocol, deflate });
  };
  const verify = policy.verifyClient;
  if (!verify) return accepted();
  // Fail closed: only an explicit yes goes on.
  const answer = (v: unknown, code?: unknown, message?: string, headers?: ResponseHeaders) => {
    if (answered) return;
    if (v === true) return accepted();
    finish({ type: "refused", status: refusalStatus(typeof v === "number" ? v : code), message, headers });
  };
  const failed = (error: unknown) => finish({ type: "failed", status: 500, error });
  try {
    if (verify.length >= 2) return void verify(policy.verifyInfo(), answer);
    const v: unknown = (verify as (i: Info) => unknown)(policy.verifyInfo());
    if (v !== null && typeof v === "object" && typeof (v as PromiseLike<unknown>).then === "function") (v as PromiseLike<unknown>).then((r) => answer(r), failed);
    else answer(v);
  } catch (error) {
    failed(error);
  }
}

/** What waiting on the policy needs of a connection (a socket, an HTTP/2 stream): its 'close'. */
export interface Closing {
  once(event: "close", listener: () => void): unknown;
  removeListener(event: "close", listener: () => void): unknown;
}

/**
 * decideUpgrade() for a connection that may go while an asynchronous verifyClient decides: its
 * 'close', or `timeoutMs` (handshakeTimeout, 0 = none) passing, drops the decision (`done` never
 * runs); on the timeout `abandon()` ends the connection. A hook that never answers must not hold it.
 */
export function decideWhileOpen<Info>(view: RequestView, policy: UpgradePolicy<Info>, conn: Closing, timeoutMs: number, abandon: () => void, done: (decision: UpgradeDecision) => void): void {
  let settled = false;
  let abandoned = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onClose = () => {
    abandoned = true;
    if (timer) clearTimeout(timer);
  };
  decideUpgrade(view, policy, (decision) => {
    settled = true;
    conn.removeListener("close", onClose);
    if (timer) clearTimeout(timer);
    // Timed out, or the client left, while verifyClient decided: nothing to answer.
    if (!abandoned) done(decision);
  });
  if (settled) return;
  conn.once("close", onClose);
  if (timeoutMs > 0) {
    timer = setTimeout(() => {
      abandoned = true;
      conn.removeListener("close", onClose);
      abandon();
    }, timeoutMs);
  }
}
