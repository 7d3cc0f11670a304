// An ES-module service worker: imports the browser bundle statically (no top-level await, no
// dynamic import in service workers) and round-trips messages between a client and a server
// connection joined by a pair of WHATWG streams, all inside the worker, with permessage-deflate
// on the pako engine (CompressionStream cannot sync-flush, so the bundle brings its own deflate).
import { Connection, overStreams, backendInfo, deflateForServer, deflateForClient, pakoEngine } from "/wasmsocket.js";

/** Two duplex ends; counts the bytes the client writes, to show they went out compressed. */
function pipePair(counter) {
  const a = new TransformStream();
  const b = new TransformStream({ transform(chunk, c) { counter.bytes += chunk.byteLength; c.enqueue(chunk); } });
  return [{ readable: a.readable, writable: b.writable }, { readable: b.readable, writable: a.writable }];
}

function roundTrip() {
  return new Promise((resolve) => {
    const counter = { bytes: 0 };
    const [serverEnd, clientEnd] = pipePair(counter);
    const serverConn = Connection.server();
    const server = overStreams(serverEnd, serverConn);
    server.onRequest = (request) => serverConn.accept(deflateForServer(request.extensions, { threshold: 0 }, pakoEngine) ?? {});
    server.on("message", (data, isBinary) => server.send(data, { binary: isBinary }));
    const clientConn = Connection.client("ws://sw.local/", { negotiator: deflateForClient({ threshold: 0 }, pakoEngine) });
    const client = overStreams(clientEnd, clientConn);
    const sent = ["hello from the worker", "ü".repeat(5000), new Uint8Array([9, 8, 7])];
    const got = [];
    client.on("open", () => sent.forEach((m) => client.send(m)));
    client.on("message", (data) => {
      got.push(typeof data === "string" ? data : Array.from(data).join());
      if (got.length === sent.length) client.close(1000);
    });
    client.on("close", (code) => {
      const ok = got.length === 3 && got[0] === sent[0] && got[1] === sent[1] && got[2] === "9,8,7";
      // 10 kB of text and a few bytes more, in far fewer bytes on the wire (handshake included).
      resolve({ core: backendInfo().name, ok, code, extensions: clientConn.extensions, compressed: counter.bytes < 1500 });
    });
    client.driver.pump(); // writes the upgrade request
  });
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  roundTrip().then((result) => e.source.postMessage(result));
});
