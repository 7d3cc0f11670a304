#!/usr/bin/env node
// Memory a permessage-deflate connection holds once it has compressed and inflated one message:
// 1 000 server connections, each with its own contexts, per engine and setting.
//   node --expose-gc bench/deflate-memory.mjs
import { Connection, deflateForClient, deflateForServer, pakoEngine } from "wasmsocket";
import { zlibEngine } from "wasmsocket/node";

const N = 1000;
const text = JSON.stringify({ hello: "world", list: Array.from({ length: 200 }, (_, i) => i) });
const settle = () => { for (let i = 0; i < 4; i++) globalThis.gc(); };
const used = () => { const m = process.memoryUsage(); return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers }; };

function connections(engine, options) {
  const out = [];
  for (let i = 0; i < N; i++) {
    const client = Connection.client("ws://x/", { negotiator: engine ? deflateForClient(options, engine) : undefined });
    const server = Connection.server();
    server.receive(Buffer.concat(client.takeOutgoing()));
    server.accept(engine ? deflateForServer(server.takeEvents()[0].request.extensions, options, engine) : (server.takeEvents(), {}));
    client.receive(Buffer.concat(server.takeOutgoing()));
    client.takeEvents();
    client.send(text); // the server inflates…
    for (const c of client.takeOutgoing()) server.receive(c);
    server.takeEvents();
    server.send(text); // …and compresses
    server.takeOutgoing();
    out.push(server); // the client side is dropped: what is measured is one server connection each
  }
  return out;
}

console.log(`# deflate memory per server connection (${N} connections, one message each way), Node ${process.version}`);
for (const [name, engine] of [["none", undefined], ["node:zlib", zlibEngine], ["pako", pakoEngine]]) {
  for (const [label, options] of engine === undefined ? [["no deflate (baseline)", {}]] : [
    ["defaults (window 15, memLevel 8)", { threshold: 0 }],
    ["serverMaxWindowBits 10, memLevel 4", { threshold: 0, serverMaxWindowBits: 10, memLevel: 4 }],
    ["serverNoContextTakeover", { threshold: 0, serverNoContextTakeover: true }],
  ]) {
    settle();
    const before = used();
    const keep = connections(engine, options);
    settle();
    const after = used();
    console.log(`  ${name.padEnd(10)} ${label.padEnd(38)} RSS ${((after.rss - before.rss) / N / 1024).toFixed(0).padStart(4)} KB   JS heap+buffers ${((after.heap - before.heap) / N / 1024).toFixed(0).padStart(4)} KB`);
    for (const c of keep) c.abort?.();
    keep.length = 0;
  }
}
