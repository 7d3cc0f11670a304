// Preloaded (with --expose-gc) into a server by bench/conns/heap.mjs: over the IPC channel,
// "gc" runs a full GC and answers with process.memoryUsage() and V8's heap space statistics;
// {snapshot: FILE} also writes a heap snapshot there.
import v8 from "node:v8";
process.on("message", (m) => {
  globalThis.gc();
  globalThis.gc();
  const file = m?.snapshot ? v8.writeHeapSnapshot(m.snapshot) : undefined;
  if (file) globalThis.gc();
  process.send({ file, mem: process.memoryUsage(), heap: v8.getHeapStatistics(), spaces: v8.getHeapSpaceStatistics() });
});
