// Type-checked against the installed tarball (module nodenext, CommonJS): ws's shape.
import WebSocket = require("wasmsocket/node");
import Root = require("wasmsocket");
declare const socket: WebSocket;
const state: number = socket.readyState === WebSocket.OPEN ? 1 : 0;
const server: WebSocket.WebSocketServer = new WebSocket.WebSocketServer({ port: 0 });
const options: WebSocket.ServerOptions = { port: 0 };
const same: Root.WebSocketServer = server;
const inner: WebSocket.WebSocket = socket;
const conn: WebSocket.Connection = WebSocket.Connection.server();
export = [state, options, same, inner, conn];
