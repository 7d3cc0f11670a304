// An ES-module service worker: imports the browser bundle statically (no top-level await, no
// dynamic import in service workers) and round-trips messages between a client and a server
// connection joined by a pair of WHATWG streams, all inside the worker.
import { Connection, overStreams, backendInfo } from "/wasmsocket.js";

function pipePair() {
  const a = new TransformStream();
  const b = new TransformStream();
  return [{ readable: a.readable, writable: b.writable }, { readable: b.readable, writable: a.writable }];
}

function roundTrip() {
  return new Promise((resolve) => {
    const [serverEnd, clientEnd] = pipePair();
    const serverConn = Connection.server();
    const server = overStreams(serverEnd, serverConn);
    server.onRequest = () => serverConn.accept();
    server.on("message", (data, isBinary) => server.send(data, { binary: isBinary }));
    const client = overStreams(clientEnd, Connection.client("ws://sw.local/"));
    const sent = ["hello from the worker", "ü".repeat(5000), new Uint8Array([9, 8, 7])];
    const got = [];
    client.on("open", () => sent.forEach((m) => client.send(m)));
    client.on("message", (data) => {
      got.push(typeof data === "string" ? data : Array.from(data).join());
      if (got.length === sent.length) client.close(1000);
    });
    client.on("close", (code) => {
      const ok = got.length === 3 && got[0] === sent[0] && got[1] === sent[1] && got[2] === "9,8,7";
      resolve({ core: backendInfo().name, ok, code });
    });
    client.driver.pump(); // writes the upgrade request
  });
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  roundTrip().then((result) => e.source.postMessage(result));
});
