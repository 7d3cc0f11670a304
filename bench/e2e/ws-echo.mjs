// ws echo server for the end-to-end comparison (set WS_NO_BUFFER_UTIL=1 for its pure-JS path;
// WS_DEFLATE_LEVEL=1 to compress at our default level instead of zlib's default, 6).
import { WebSocketServer } from "ws";
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const wss = new WebSocketServer({ port, host: "127.0.0.1", maxPayload: 64 * 1024 * 1024, perMessageDeflate: process.env.WS_DEFLATE_LEVEL ? { zlibDeflateOptions: { level: Number(process.env.WS_DEFLATE_LEVEL) } } : true });
wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
wss.on("listening", () => console.log(`listening on ws://127.0.0.1:${port}`));
