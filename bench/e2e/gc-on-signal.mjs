// Preloaded into Node and Deno (with V8's --expose-gc) and Bun servers by the idle-memory measurement: SIGUSR2
// runs a full GC, so RSS counts what connections hold rather than garbage not yet collected.
process.on("SIGUSR2", () => (globalThis.Bun ? globalThis.Bun.gc(true) : globalThis.gc?.()));
