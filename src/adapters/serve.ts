// What serve() of wasmsocket/deno and wasmsocket/bun offers, whichever door it opens (README, "Deno
// and Bun"): with a `fetch` handler, one port for HTTP and WebSocket on the runtime's node:http
// (./http-server.ts); without one, a WebSocket-only listener on the runtime's raw sockets.
import type { OnConnection, RuntimeServerOptions } from "./runtime-server.js";
import type { WebSocketConnection } from "./socket.js";
import { Topics, type PublishData, type TopicOptions } from "./topics.js";

export interface ServeOptions extends RuntimeServerOptions, TopicOptions {
  /**
   * Answers requests that are not WebSocket upgrades, as in Deno.serve and Bun.serve. Without it the
   * port serves WebSocket only, on the runtime's raw sockets, and other requests get 426 Upgrade
   * Required (README, "Deno and Bun").
   */
  fetch?: (request: Request) => Response | Promise<Response>;
  /** Answers when `fetch` throws or returns no Response (default: logs the error, answers 500). */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** Serve https:// and wss:// with this certificate chain and private key (PEM). */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  /**
   * Sets SO_REUSEPORT (an addition, as Bun.serve's and Deno.serve's option): several processes may
   * then listen on one port, the kernel spreading connections among them (Linux). Deno asks for
   * its --unstable-net flag for it; on Bun it needs the WebSocket-only door (no `fetch`): Bun's
   * node:http binds without it, and serve() throws rather than let a second process fail to bind.
   */
  reusePort?: boolean;
  /** Called once the port is bound (with port 0: the one the system chose). */
  onListen?: (addr: ServerAddress) => void;
}

export interface ServerAddress {
  hostname: string;
  port: number;
}

export interface Server {
  /**
   * Resolves once the port is bound. Without a fetch handler the port is bound when serve() returns
   * (which throws if it cannot be); with one, this rejects if it cannot be (e.g. EADDRINUSE).
   */
  readonly ready: Promise<ServerAddress>;
  /** The bound address; with port 0 and a fetch handler, the port is known once `ready` resolves. */
  readonly addr: ServerAddress;
  readonly port: number;
  readonly hostname: string;
  /**
   * Stops listening and closes every open WebSocket (1001, going away); resolves once they are
   * closed (each within its closeTimeout) and in-flight HTTP requests are answered.
   */
  close(): Promise<void>;
  /**
   * Sends `data` to every socket subscribed to `topic` (ws.subscribe), framed once, and to a
   * broker's other processes (Bun's server.publish). Returns the payload's byte length, or 0 when
   * nobody took it.
   */
  publish(topic: string, data: PublishData, compress?: boolean): number;
  /** How many of this server's sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number;
}

/** What serve() keeps whichever door it opens: the WebSockets it opened, for close(), and their topics. */
export class OpenSockets {
  readonly #open = new Set<WebSocketConnection>();
  readonly topics: Topics;
  /** `onConnection`, also tracking the socket until its 'close'. */
  readonly accepted: OnConnection;

  constructor(onConnection: OnConnection, options: TopicOptions = {}) {
    const topics = (this.topics = new Topics(options));
    // A broker's outage beyond its bound: reported, never thrown into the runtime's event loop.
    topics.onError = (err) => console.error("wasmsocket: publish/subscribe broker:", err);
    this.accepted = (ws, request) => {
      this.#open.add(ws);
      // The socket tells us of its close itself (socket.ts onEvent), before its 'close' listeners:
      // no listener closure per connection (~150 B each with its scope and list). It finds its
      // topics through us (socket.ts).
      ws._server = this;
      onConnection(ws, request);
    };
  }

  /** @internal A socket of ours closed: it leaves the open set and its topics. */
  release(ws: WebSocketConnection): void {
    this.#open.delete(ws);
    this.topics.leave(ws);
  }

  /** Closes every open WebSocket with 1001; resolves once all have closed. */
  closeAll(): Promise<void> {
    return Promise.all(
      [...this.#open].map((ws) => {
        const closed = new Promise<void>((r) => ws.on("close", () => r()));
        ws.close(1001);
        return closed;
      }),
    ).then(() => {});
  }
}

/** The Server of a door: `addr` filled in by the door, `stop()` ends its listener (called once). */
export function serverOf(addr: ServerAddress, ready: Promise<ServerAddress>, open: OpenSockets, stop: () => Promise<void>): Server {
  let closing: Promise<void> | undefined;
  return {
    ready,
    addr,
    get port() {
      return addr.port;
    },
    hostname: addr.hostname,
    close: () => (closing ??= Promise.all([stop(), open.closeAll()]).then(() => {})),
    publish: (topic, data, compress = true) => open.topics.publish(topic, data, compress),
    subscriberCount: (topic) => open.topics.subscriberCount(topic),
  };
}

export const pem = (c: string | Uint8Array): string => (typeof c === "string" ? c : new TextDecoder().decode(c));
