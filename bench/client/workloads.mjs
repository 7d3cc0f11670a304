// What the bench/client scripts share: their --name value options, and the workloads (message size,
// type, messages in flight).
export const args = process.argv.slice(2);
export const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
export const workloads = { "32B": [32, "text", 64], "4KiB": [4096, "binary", 16], "1MiB": [1 << 20, "binary", 2] };
