#!/usr/bin/env node
// Micro and path benchmarks, side by side in one process, reported as ratios (../shared/DESIGN.md §3).
//   npm run bench [-- --only mask,utf8,recv,send] [--json FILE] [--time MS]
import { Bench } from "tinybench";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { isUtf8 } from "node:buffer";
import { readFileSync } from "node:fs";
import { mask, isValidUtf8, Connection, backendInfo } from "wasmsocket";
import { loadWs, bufferutil, bufferutilFallback, utf8Validate, Hybi } from "./contenders.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt("only")?.split(",");
const TIME = Number(opt("time") ?? 400);
const results = [];
const KiB = 1024, MiB = 1024 * 1024;
const sizeName = (n) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);

/** Runs tasks of one group; `bytes` per op gives GB/s, `items` per op gives ops/s of items. */
async function group(title, { bytes = 0, items = 0, anchor }, tasks) {
  const bench = new Bench({ time: TIME, warmupTime: 100 });
  for (const [name, t] of Object.entries(tasks)) Array.isArray(t) ? bench.add(name, t[0], t[1]) : bench.add(name, t);
  await bench.run();
  for (const t of bench.tasks) if (t.result.error) console.log(`  ${t.name}: FAILED ${t.result.error.message}`);
  // tinybench reports latency in ms.
  const rows = bench.tasks.filter((t) => !t.result.error).map((t) => ({ name: t.name, mean: t.result.latency.mean / 1e3, p99: t.result.latency.p99 / 1e3 }));
  const base = rows.find((r) => r.name === anchor) ?? rows[0];
  console.log(`\n## ${title}`);
  for (const r of rows) {
    const rate = bytes ? `${(bytes / r.mean / 1e9).toFixed(2)} GB/s` : `${((items || 1) / r.mean / 1e6).toFixed(2)} M/s`;
    const ratio = base.mean / r.mean;
    console.log(`  ${r.name.padEnd(34)} ${rate.padStart(12)}   ×${ratio.toFixed(2)} vs ${base.name}`);
    results.push({ group: title, name: r.name, seconds: r.mean, bytesPerOp: bytes, itemsPerOp: items, ratioToAnchor: ratio, anchor: base.name });
  }
}

const want = (k) => !only || only.includes(k);
console.log(`# wasmsocket benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus()[0].model} × ${os.cpus().length}, core: ${backendInfo().name}`);

// ---- masking -------------------------------------------------------------------------------
if (want("mask")) {
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL("../build/wasmsocket.wasm", import.meta.url)))).exports;
  for (const n of [16, 1 * KiB, 16 * KiB, 64 * KiB, 1 * MiB, 16 * MiB]) {
    const data = Buffer.alloc(n, 7);
    const out = Buffer.alloc(n);
    const key = Buffer.from([1, 2, 3, 4]);
    const base = wasm.heapBase() + 64;
    if (wasm.memory.buffer.byteLength < base + n) wasm.memory.grow(Math.ceil((base + n - wasm.memory.buffer.byteLength) / 65536));
    await group(`unmask ${sizeName(n)}`, { bytes: n, anchor: "bufferutil (native)" }, {
      "bufferutil (native)": () => bufferutil.unmask(data, key),
      "ws pure JS (no addon)": () => bufferutilFallback.unmask(data, key),
      "wasmsocket mask() incl. copies": () => mask(data, key),
      "WASM kernel, bytes in WASM memory": () => wasm.maskInPlace(base, n, 0x04030201, 0),
    });
    void out;
  }
}

// ---- UTF-8 ---------------------------------------------------------------------------------
if (want("utf8")) {
  const samples = {
    ASCII: "The quick brown fox jumps over the lazy dog. ",
    CJK: "敏捷的棕色狐狸跳过了懒狗。日本語のテキスト。",
    mixed: "Grüße, Jürgen! Ça va? Привет 👋 — ",
  };
  const td = new TextDecoder("utf-8", { fatal: true });
  for (const [kind, s] of Object.entries(samples)) {
    for (const n of [64, 1 * KiB, 64 * KiB, 1 * MiB]) {
      const full = Buffer.from(s.repeat(Math.ceil(n / Buffer.byteLength(s)) + 1));
      let cut = n;
      while (cut > 0 && (full[cut] & 0xc0) === 0x80) cut--;
      const buf = full.subarray(0, cut);
      await group(`UTF-8 ${kind} ${sizeName(n)}`, { bytes: buf.length, anchor: "buffer.isUtf8 (simdutf)" }, {
        "buffer.isUtf8 (simdutf)": () => isUtf8(buf),
        "utf-8-validate (native)": () => utf8Validate(buf),
        "TextDecoder fatal": () => td.decode(buf),
        "wasmsocket isValidUtf8": () => isValidUtf8(buf),
      });
    }
  }
}

// ---- receive path --------------------------------------------------------------------------
function maskedFrames(opcode, payload, count) {
  const frames = [];
  const key = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  for (let i = 0; i < count; i++) {
    const n = payload.length;
    const head = n <= 125 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n <= 0xffff ? Buffer.from([0x80 | opcode, 0xfe, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 0xff]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
    const body = Buffer.from(payload);
    for (let j = 0; j < n; j++) body[j] ^= key[j & 3];
    frames.push(head, key, body);
  }
  return Buffer.concat(frames);
}

function chunked(buf, size) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

if (want("recv")) {
  const wsNative = loadWs(true);
  const wsJs = loadWs(false);
  for (const [label, n, text] of [["32 B text", 32, true], ["1 KiB text", KiB, true], ["64 KiB binary", 64 * KiB, false], ["64 KiB text", 64 * KiB, true], ["1 MiB binary", MiB, false], ["1 MiB text", MiB, true]]) {
    const payload = text ? Buffer.from("héllo wörld, this is text! ".repeat(Math.ceil(n / 27))).subarray(0, n) : Buffer.alloc(n, 0x5a);
    if (text && !isUtf8(payload)) payload[n - 1] = 0x21; // cut inside a character: end on ASCII
    const plen = payload.length;
    const count = Math.max(4, Math.floor((4 * MiB) / (plen + 14)));
    const stream = maskedFrames(text ? 1 : 2, payload, count);
    const chunks = chunked(stream, 64 * KiB);
    // Each op feeds the whole stream: `count` messages in 64 KiB chunks.
    // ws and websocket-driver unmask the caller's chunks in place: each op gets a fresh copy,
    // made before the timed function runs (tinybench's beforeEach is not timed).
    const work = chunks.map((c) => Buffer.from(c));
    let dirty = false;
    const restore = () => {
      chunks.forEach((c, i) => work[i].set(c));
      dirty = false;
    };
    const fresh = { beforeEach: restore };
    const use = () => {
      if (dirty) restore(); // only if a run skipped beforeEach (e.g. a warmup path)
      dirty = true;
      return work;
    };
    const wsTask = (mods, toString) => [() => {
      let got = 0;
      const r = new mods.Receiver({ isServer: true, maxPayload: 64 * MiB });
      r.on("message", toString ? (d, isBinary) => { if (!isBinary) d.toString(); got++; } : () => got++);
      for (const c of use()) r.write(c);
      if (got !== count) throw new Error(`ws got ${got}/${count}`);
    }, fresh];
    // websocket-driver hands messages through its extension pipeline asynchronously: await them.
    const driverTask = [async () => {
      let got = 0;
      let done;
      const all = new Promise((r) => (done = r));
      const d = new Hybi({ headers: {} }, "ws://x/", { requireMasking: true, maxLength: 64 * MiB });
      d.readyState = 1;
      d._stage = 0;
      d.io = { write() {}, end() {} };
      d._extensions.generateResponse(""); // what its handshake would do: set up the (empty) pipeline
      d.on("message", () => ++got === count && done());
      d.on("error", (e) => { throw e; });
      for (const c of use()) d.parse(c);
      await all;
    }, fresh];
    const oursTask = (textAsBytes) => [() => {
      let got = 0;
      const c = Connection.open("server", { maxMessageSize: 64 * MiB, maxFrameSize: 64 * MiB, textAsBytes });
      for (const ch of use()) {
        c.receive(ch);
        for (const e of c.takeEvents()) if (e.type === "message") got++;
      }
      if (got !== count) throw new Error(`wasmsocket got ${got}/${count}`);
    }, fresh];
    const tasks = text
      ? {
          "ws + bufferutil (Buffer out)": wsTask(wsNative, false),
          "ws pure JS (Buffer out)": wsTask(wsJs, false),
          "wasmsocket textAsBytes": oursTask(true),
          "ws + bufferutil + toString()": wsTask(wsNative, true),
          "websocket-driver (string out)": driverTask,
          "wasmsocket (string out)": oursTask(false),
        }
      : {
          "ws + bufferutil (Buffer out)": wsTask(wsNative, false),
          "ws pure JS (Buffer out)": wsTask(wsJs, false),
          "websocket-driver": driverTask,
          wasmsocket: oursTask(false),
        };
    await group(`receive ${label} (server role, 64 KiB chunks, ${count} msgs)`, { bytes: count * plen, items: count, anchor: "ws + bufferutil (Buffer out)" }, tasks);
  }
}

// ---- send path -----------------------------------------------------------------------------
if (want("send")) {
  const { Sender } = loadWs(true);
  for (const n of [32, KiB, 64 * KiB, MiB]) {
    const data = Buffer.alloc(n, 0x61);
    const str = data.toString();
    const count = Math.max(4, Math.floor(MiB / n));
    for (const role of ["server", "client"]) {
      const mask = role === "client";
      const conn = Connection.open(role); // one connection, as a server sending many messages has
      await group(`send ${sizeName(n)} binary, ${role} role (${count} msgs)`, { bytes: count * n, items: count, anchor: "ws Sender.frame" }, {
        "ws Sender.frame": () => {
          for (let i = 0; i < count; i++) Sender.frame(data, { fin: true, opcode: 2, mask, readOnly: true, rsv1: false });
        },
        "wasmsocket send": [() => {
          for (let i = 0; i < count; i++) conn.send(data);
          conn.takeOutgoing();
        }],
      });
      if (n <= KiB) {
        await group(`send ${sizeName(n)} text, ${role} role (${count} msgs)`, { bytes: count * n, items: count, anchor: "ws Sender.frame" }, {
          "ws Sender.frame": () => {
            for (let i = 0; i < count; i++) Sender.frame(Buffer.from(str), { fin: true, opcode: 1, mask, readOnly: false, rsv1: false });
          },
          "wasmsocket send": [() => {
            for (let i = 0; i < count; i++) conn.send(str);
            conn.takeOutgoing();
          }],
        });
      }
    }
  }
}

// ---- permessage-deflate: compress on one side, inflate on the other ---------------------------
if (want("deflate")) {
  const { PerMessageDeflate } = loadWs(true);
  const { zlibEngine } = await import("wasmsocket/node");
  const { deflateForServer, deflateForClient, pakoEngine } = await import("wasmsocket");
  const record = (i) => ({ id: i, user: `user${i % 97}`, action: "update", ts: 1732500000000 + i, tags: ["a", "bb", "ccc"], payload: { x: i * 3, y: "some text ".repeat(3) } });
  for (const n of [1 * KiB, 16 * KiB, 256 * KiB]) {
    let text = "";
    for (let i = 0; text.length < n; i++) text += JSON.stringify(record(i)) + "\n";
    text = text.slice(0, n);
    const count = Math.max(4, Math.floor((2 * MiB) / n));
    // ws: its PerMessageDeflate pair, as its Sender and Receiver drive it (asynchronous zlib).
    const wsServer = new PerMessageDeflate({ threshold: 0 }, true, 0);
    const wsClient = new PerMessageDeflate({ threshold: 0 }, false, 0);
    wsServer.accept(wsServer.acceptAsServer([{}]) && [{}]);
    wsClient.accept([{}]);
    const wsTask = async () => {
      for (let i = 0; i < count; i++) {
        const c = await new Promise((res, rej) => wsServer.compress(Buffer.from(text), true, (e, d) => (e ? rej(e) : res(d))));
        const d = await new Promise((res, rej) => wsClient.decompress(c, true, (e, r) => (e ? rej(e) : res(r))));
        if (d.length !== text.length) throw new Error("ws lost bytes");
      }
    };
    // Ours: a server connection sends, a client connection receives, both negotiated on `engine`.
    const oursOn = (engine) => {
      const client = Connection.client("ws://x/", { negotiator: deflateForClient({ threshold: 0 }, engine) });
      const server = Connection.server();
      server.receive(Buffer.concat(client.takeOutgoing()));
      const req = server.takeEvents()[0].request;
      server.accept(deflateForServer(req.extensions, { threshold: 0 }, engine));
      client.receive(Buffer.concat(server.takeOutgoing()));
      client.takeEvents();
      server.takeEvents();
      return () => {
        for (let i = 0; i < count; i++) server.send(text);
        for (const chunk of server.takeOutgoing()) client.receive(chunk);
        let got = 0;
        for (const e of client.takeEvents()) if (e.type === "message") got++;
        if (got !== count) throw new Error(`wasmsocket got ${got}/${count}`);
      };
    };
    await group(`permessage-deflate ${sizeName(n)} JSON text, compress + inflate (${count} msgs)`, { bytes: count * n, items: count, anchor: "ws PerMessageDeflate" }, {
      "ws PerMessageDeflate": wsTask,
      "wasmsocket (node:zlib, sync)": oursOn(zlibEngine),
      "wasmsocket (pako, portable)": oursOn(pakoEngine),
    });
  }
}

// ---- deflate engines for browsers and workers: the measurement that chose pako over fflate -----
if (want("engines")) {
  const { zlibEngine } = await import("wasmsocket/node");
  const { pakoEngine } = await import("wasmsocket");
  const { fflateSyncFlush } = await import("./fflate-sync-flush.mjs");
  const record = (i) => JSON.stringify({ id: i, user: `user${i % 97}`, action: "update", ts: 1732500000000 + i, tags: ["a", "bb", "ccc"] });
  let corpus = "";
  for (let i = 0; corpus.length < 600_000; i++) corpus += record(i) + "\n";
  for (const n of [64, 1 * KiB, 16 * KiB, 256 * KiB]) {
    // 64 different messages of n bytes, sent in turn over one context-keeping stream.
    const msgs = Array.from({ length: 64 }, (_, k) => Buffer.from(corpus.slice(k * 997, k * 997 + n)));
    const count = Math.max(4, Math.floor((1 * MiB) / n));
    const settings = { windowBits: 15, level: 1, memLevel: 8 };
    const compressors = {
      "fflate 0.8.3 (flush fixed here)": () => fflateSyncFlush(1),
      "pako (our portable engine)": () => pakoEngine.compressor(settings),
      "node:zlib (sync, native)": () => zlibEngine.compressor(settings),
    };
    const inflaters = {
      "fflate 0.8.3": () => fflateSyncFlush.inflater(),
      "pako (our portable engine)": () => pakoEngine.decompressor(15),
      "node:zlib (sync, native)": () => zlibEngine.decompressor(15),
    };
    // Each compressor's output must inflate back (with zlib itself) before it is timed.
    for (const make of Object.values(compressors)) {
      const c = make(), z = zlibEngine.decompressor(15);
      for (const m of msgs) if (Buffer.compare(z.decompress(c.compress(m), Infinity), m) !== 0) throw new Error("an engine's output does not inflate back");
    }
    const sizes = {};
    const compressTasks = Object.fromEntries(Object.entries(compressors).map(([name, make]) => {
      const c = make();
      let k = 0;
      return [name, () => {
        let bytes = 0;
        for (let i = 0; i < count; i++, k++) bytes += c.compress(msgs[k & 63]).length;
        sizes[name] = bytes / (count * n);
      }];
    }));
    await group(`deflate engine: compress ${sizeName(n)} JSON messages, context kept (${count} msgs)`, { bytes: count * n, items: count, anchor: "fflate 0.8.3 (flush fixed here)" }, compressTasks);
    console.log(`  compressed size / original: ${Object.entries(sizes).map(([k, v]) => `${k.split(" ")[0]} ${v.toFixed(3)}`).join(", ")}`);
    // One zlib stream of `count` messages, inflated from the start by each engine.
    const z = zlibEngine.compressor(settings);
    const stream = Array.from({ length: count }, (_, i) => { const c = z.compress(msgs[i & 63]); return c; });
    const inflateTasks = Object.fromEntries(Object.entries(inflaters).map(([name, make]) => [name, () => {
      const d = make();
      for (let i = 0; i < count; i++) if (d.decompress(stream[i], Infinity).length !== msgs[i & 63].length) throw new Error(`${name} lost bytes`);
    }]));
    await group(`deflate engine: inflate ${sizeName(n)} JSON messages, context kept (${count} msgs)`, { bytes: count * n, items: count, anchor: "fflate 0.8.3" }, inflateTasks);
  }
}

const json = opt("json");
if (json) {
  writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0].model, cores: os.cpus().length, results }, null, 2));
  console.log(`\nresults written to ${json}`);
}
