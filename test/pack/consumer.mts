// Type-checked against the installed tarball (module nodenext: the ESM view).
import { Connection, WebSocketError, isValidUtf8, type ConnectionEvent } from "wasmsocket";
import { WebSocketServer, type ServerOptions } from "wasmsocket/node";
import * as deno from "wasmsocket/deno";
import * as bun from "wasmsocket/bun";
const options: ServerOptions = { port: 0 };
const server: WebSocketServer = new WebSocketServer(options);
const conn: Connection = Connection.server();
const events: ConnectionEvent[] = conn.takeEvents();
const ok: boolean = isValidUtf8(new Uint8Array([0x41])) && new WebSocketError("x", "X", 1002) instanceof Error;
export const all = [server, events, ok, deno.serve, bun.connect];
