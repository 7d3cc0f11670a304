// wasmsocket/deno's connect(): WebSocket clients over Deno.connect (ws://) and Deno.connectTls (wss://).
import type { WebSocketConnection } from "../socket.js";
import { denoConnection } from "./connection.js";
import { deno, DenoTransport } from "./transport.js";
import { clientTarget, type ClientOptions } from "../runtime-client.js";

export type { ClientOptions } from "../runtime-client.js";

/** Connects to a ws:// or wss:// URL; listen for 'open'. */
export function connect(url: string, options: ClientOptions = {}): WebSocketConnection {
  const { url: u, secure, hostname, port, ca, connection } = clientTarget("wasmsocket/deno", url, options);
  const conn = denoConnection(connection, u);
  const to = { hostname, port };
  const connecting = secure ? deno().connectTls({ ...to, caCerts: ca }) : deno().connect(to).then((t) => (t.setNoDelay?.(true), t));
  const ws = new DenoTransport(connecting, conn, options).ws;
  ws.driver.pump(); // queues the upgrade request until the connection is up
  return ws;
}
