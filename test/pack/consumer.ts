// Type-checked against the installed tarball (moduleResolution bundler).
import { Connection, isValidUtf8, backendInfo, type BackendName } from "wasmsocket";
import { WebSocketServer } from "wasmsocket/node";
const name: BackendName = backendInfo().name;
export const all = [Connection.client("ws://x/"), isValidUtf8(new Uint8Array(1)), name, WebSocketServer];
