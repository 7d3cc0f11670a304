// Preloaded by bench/e2e/profile.mjs: SIGINT ends the process normally, so the profiler writes its file.
process.on("SIGINT", () => process.exit(0));
