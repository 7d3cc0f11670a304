// Calibration for bench/e2e/http2.mjs: node:http2 alone, no WebSocket. Answers an extended CONNECT
// with 200 and writes back every byte of the stream as it came (the load generator, with
// ECHO_RAW=1, then counts echoes of its own masked frames). What this costs is node:http2's part.
//   node bench/e2e/h2-raw-echo.mjs --port 9001
import http2 from "node:http2";
const i = process.argv.indexOf("--port");
const server = http2.createServer({ settings: { enableConnectProtocol: true } });
server.on("stream", (stream) => {
  stream.on("error", () => undefined);
  stream.respond({ ":status": 200 });
  stream.on("data", (d) => stream.write(d));
});
server.listen(Number(process.argv[i + 1]), "127.0.0.1", () => console.log(`listening on ${server.address().port}`));
