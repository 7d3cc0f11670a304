// ws echo server for the end-to-end comparison (set WS_NO_BUFFER_UTIL=1 for its pure-JS path).
import { WebSocketServer } from "ws";
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const wss = new WebSocketServer({ port, host: "127.0.0.1", maxPayload: 64 * 1024 * 1024, perMessageDeflate: true });
wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
wss.on("listening", () => console.log(`listening on ws://127.0.0.1:${port}`));
