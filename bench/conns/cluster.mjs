// Runs a Node echo server script in WORKERS processes sharing one port (node:cluster; the primary
// accepts and hands connections round robin), for more connections than one process may hold open
// files (20 000 here). Prints "ready pids=PRIMARY,W1,W2,…" once every worker listens.
//   node [--expose-gc --import gc-on-signal.mjs] bench/conns/cluster.mjs WORKERS SCRIPT --port P
import cluster from "node:cluster";
import path from "node:path";

const [workers, script, ...rest] = process.argv.slice(2);
cluster.setupPrimary({ exec: path.resolve(script), args: rest, silent: true });
const pids = [process.pid];
let listening = 0;
for (let i = 0; i < Number(workers); i++) {
  const w = cluster.fork();
  pids.push(w.process.pid);
  w.process.stderr.pipe(process.stderr);
  w.process.stdout.resume();
}
cluster.on("listening", () => {
  if (++listening === Number(workers)) console.log(`ready pids=${pids.join(",")}`);
});
cluster.on("exit", (w, code, signal) => {
  console.error(`worker ${w.process.pid} exited ${code ?? signal}`);
});
for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => { for (const id in cluster.workers) cluster.workers[id].process.kill(); process.exit(0); });
