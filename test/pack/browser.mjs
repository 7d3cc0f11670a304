// Browser consumer, bundled by esbuild from the installed tarball: a client and a server Connection
// talk through memory on the WASM core inside the page; the result lands in body[data-result].
import { Connection, init, backendInfo, isValidUtf8 } from "wasmsocket";
const concat = (chunks) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) out.set(c, (o += c.length) - c.length);
  return out;
};
const run = async () => {
  await init();
  const client = Connection.client("ws://example.test/");
  const server = Connection.server();
  const flush = () => {
    for (;;) {
      const a = client.takeOutgoing(), b = server.takeOutgoing();
      if (!a.length && !b.length) return;
      if (a.length) server.receive(concat(a));
      if (b.length) client.receive(concat(b));
      for (const e of server.takeEvents()) {
        if (e.type === "request") server.accept();
        if (e.type === "message") server.send(e.data, { binary: e.binary });
      }
    }
  };
  flush();
  client.send("héllo");
  flush();
  const got = client.takeEvents().filter((e) => e.type === "message").map((e) => e.data);
  return { backend: backendInfo().name, got, utf8: isValidUtf8(new Uint8Array([0xc3, 0xa9])) };
};
run().then(
  (r) => document.body.setAttribute("data-result", JSON.stringify(r)),
  (e) => document.body.setAttribute("data-result", JSON.stringify({ error: String(e) })),
);
