// How tests start Node, Deno and Bun (the command line for each runtime, fixtures that report their
// ports), and how they talk HTTP and raw bytes to the servers those fixtures start.
import { join } from "node:path";
import { existsSync, readdirSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";

const ROOT = join(import.meta.dirname, "../..");
// The real Deno binary: the npm bin is a Node wrapper, and killing the wrapper would leave Deno running.
const denoBinaries = [join(ROOT, "node_modules/deno/deno"), ...(existsSync(join(ROOT, "node_modules/@deno")) ? readdirSync(join(ROOT, "node_modules/@deno")).map((d) => join(ROOT, "node_modules/@deno", d, "deno")) : [])];
export const RUNTIMES: Record<string, string[]> = {
  node: [process.execPath],
  deno: [denoBinaries.find((p) => existsSync(p)) ?? join(ROOT, "node_modules/.bin/deno"), "run", "-A"],
  bun: [join(ROOT, "node_modules/.bin/bun")],
};


/** Runs `script` on `runtime` from the repository root. */
export function run(runtime: string, script: string, args: string[] = []): ChildProcess {
  const [cmd, ...pre] = RUNTIMES[runtime]!;
  return spawn(cmd!, [...pre, script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
}

/** Everything the process prints, and its exit code. */
export function output(p: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve) => p.on("exit", (code) => resolve({ code, out })));
}

/**
 * Starts a fixture that prints "<name> <port>" lines and then "ready" (within 30 s); resolves to the
 * ports by name and a view of everything it printed since.
 */
export function startFixture(runtime: string, script: string, args: string[] = []): Promise<{ proc: ChildProcess; ports: Map<string, number>; printed: () => string }> {
  const proc = run(runtime, script, args);
  let seen = "";
  proc.stdout!.on("data", (d) => (seen += d));
  proc.stderr!.on("data", (d) => (seen += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (proc.kill(), reject(new Error(`${runtime} ${script} not ready within 30 s: ${seen}`))), 30_000);
    const check = () => {
      if (!/^ready$/m.test(seen)) return;
      clearTimeout(timer);
      proc.stdout!.off("data", check);
      const ports = new Map<string, number>();
      for (const m of seen.matchAll(/^([\w-]+) (\d+)$/gm)) ports.set(m[1]!, Number(m[2]));
      resolve({ proc, ports, printed: () => seen });
    };
    proc.stdout!.on("data", check);
    proc.on("exit", (c) => (clearTimeout(timer), reject(new Error(`${runtime} ${script} exited ${c}: ${seen}`))));
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP(S) request, answered within 5 s; `agent` to keep a connection alive across requests. */
export function request(url: string, options: { method?: string; body?: Buffer | string; headers?: Record<string, string>; ca?: string | Buffer; agent?: http.Agent } = {}): Promise<Reply & { socket: net.Socket }> {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method: options.method ?? "GET", headers: options.headers, ca: options.ca, agent: options.agent }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString(), socket: res.socket as net.Socket }));
      res.on("error", reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Writes `bytes` on a new TCP (or TLS, with `ca`) connection to 127.0.0.1:`port` and collects what
 * comes back until the server closes it (`closed`) or `ms` pass (`closed: false`; the socket is then
 * still open, for the caller to destroy).
 */
export function rawExchange(port: number, bytes: Buffer | string, ms: number, ca?: string | Buffer): Promise<{ closed: boolean; reply: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket: net.Socket = ca ? tls.connect({ port, host: "127.0.0.1", ca, servername: "localhost" }) : net.connect(port, "127.0.0.1");
    socket.once(ca ? "secureConnect" : "connect", () => bytes.length && socket.write(bytes));
    let reply = "";
    socket.on("data", (d) => (reply += d.toString("latin1")));
    socket.on("error", () => {});
    const timer = setTimeout(() => resolve({ closed: false, reply, socket }), ms);
    socket.on("close", () => (clearTimeout(timer), resolve({ closed: true, reply, socket })));
  });
}
