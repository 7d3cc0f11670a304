// An ES-module service worker: imports the browser bundle statically (no top-level await, no
// dynamic import in service workers) and round-trips messages between a client and a server
// connection joined by a pair of WHATWG streams, all inside the worker, with permessage-deflate
// on the pako engine (CompressionStream cannot sync-flush, so the bundle brings its own deflate).
import { Connection, overStreams, backendInfo, deflateForClient, pakoEngine } from "/wasmsocket.js";

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
    // Server role: answers the upgrade request as serve() would (deflate runs on pako here).
    const server = overStreams(serverEnd, Connection.server(), { perMessageDeflate: { threshold: 0 } });
    server.on("message", (data, isBinary) => server.send(data, { binary: isBinary }));
    // Client role: the upgrade request goes out by itself, once these listeners are on.
    const client = overStreams(clientEnd, Connection.client("ws://sw.local/", { negotiator: deflateForClient({ threshold: 0 }, pakoEngine) }));
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
      resolve({ core: backendInfo().name, ok, code, extensions: client.extensions, compressed: counter.bytes < 1500 });
    });
  });
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  roundTrip().then((result) => e.source.postMessage(result));
});
