// Node's additions for clients beyond ws's class: connect(), and the browser's WebSocket API.
import { WhatwgWebSocket, exactBinary, type EventSocket } from "../whatwg.js";
import { WebSocket, type ClientOptions } from "./websocket.js";

/** An addition: `connect(url, options)` is `new WebSocket(url, options.protocols, options)`. */
export function connect(url: string | URL, options: ClientOptions = {}): WebSocket {
  return new WebSocket(url, options.protocols ?? [], options);
}

/** The browser's WebSocket API on Node: `new WebSocketClient(url, protocols)`. */
export class WebSocketClient extends WhatwgWebSocket {
  constructor(url: string | URL, protocols?: string | string[], options: ClientOptions = {}) {
    const list = typeof protocols === "string" ? [protocols] : protocols ?? [];
    // Text as strings (the browser API decodes it anyway), and every failure reported through events;
    // binary messages made once, in the ArrayBuffer the application gets (unless it makes its own).
    const own = options.createBinary === undefined;
    const ws = new WebSocket(url, list, { ...options, textAsBytes: false, ...(own ? { createBinary: exactBinary } : {}) });
    super(urlRecord(url), ws as unknown as EventSocket, own);
  }
}

/** The url getter's value, as in browsers: the parsed URL, http(s) turned into ws(s) (ws+unix: as given). */
function urlRecord(url: string | URL): string {
  const given = String(url);
  if (!/^(?:https?|wss?):/i.test(given)) return given;
  const parsed = new URL(given); // valid: new WebSocket() above took it
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  return parsed.href;
}
