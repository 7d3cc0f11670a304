// A real redis-server for tests: started on a free loopback port with no persistence, stopped and
// started again on the same port mid-test (an outage), and a TCP gate in front of it that a test
// can close to keep one client away while the others reconnect.
//
// No redis-server on PATH: the tests skip, saying so, unless WASMSOCKET_REQUIRE_REDIS=1 (.ci/run
// installs it and sets that), where they fail instead.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";

export function redisRequired(): boolean {
  const v = process.env.WASMSOCKET_REQUIRE_REDIS;
  return v !== undefined && v !== "" && v !== "0" && v !== "false";
}

/** The redis-server binary's version line, or undefined when there is none on PATH. */
export function redisServerVersion(): string | undefined {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Whether to skip the Redis tests: true (with a warning) when there is no redis-server and it is not required. */
export function skipWithoutRedis(what: string): boolean {
  const version = redisServerVersion();
  if (version) return false;
  const skip = !redisRequired();
  console.warn(`${what} ${skip ? "SKIPPED" : "FAIL"}: no redis-server on PATH${skip ? " (WASMSOCKET_REQUIRE_REDIS=1 makes this a failure; apt-get install redis-server)" : ""}`);
  return skip;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const STARTUP_MS = 10_000;
const STOP_MS = 5_000;

export class RedisServer {
  #proc: ChildProcess | undefined;
  #log = "";

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#proc !== undefined;
  }

  /** Starts redis-server on `port` (default: a free one): resolves once it accepts connections. */
  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  /** Starts it again, on the same port (after stop()). A few tries if the port is not free yet. */
  async restart(): Promise<void> {
    if (this.#proc) throw new Error("redis-server is running");
    let last: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.#spawn();
      } catch (err) {
        last = err as Error;
        if (!/Address already in use/i.test(last.message)) throw last;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw last!;
  }

  #spawn(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmpdir(), "--daemonize", "no"];
    const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#log = "";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error(`redis-server did not start within ${STARTUP_MS} ms: ${this.#log}`));
      }, STARTUP_MS);
      const onData = (d: Buffer) => {
        this.#log += d;
        if (this.#log.includes("Ready to accept connections")) {
          clearTimeout(timer);
          this.#proc = proc;
          proc.once("exit", () => {
            if (this.#proc === proc) this.#proc = undefined;
          });
          resolve();
        }
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", onData);
      proc.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.code === "ENOENT" ? new Error("no redis-server on PATH (apt-get install redis-server)", { cause: err }) : err);
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}) before it was ready: ${this.#log}`));
      });
    });
  }

  /** Stops it (SIGTERM: it closes every connection; SIGKILL: a crash) and waits for the exit. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_MS);
    await exited;
    clearTimeout(timer);
    this.#proc = undefined;
  }
}

/**
 * A TCP relay on its own loopback port to `target`. While closed, it takes connections and drops
 * them at once (a client sees the connection fail and tries again); close() also drops the open
 * ones. While muted, it passes what clients send and drops what the server answers.
 */
export class TcpGate {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #open = true;
  #muted = false;

  private constructor(server: Server, readonly port: number) {
    this.#server = server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<TcpGate> {
    let gate: TcpGate;
    const server = createServer((down) => {
      if (!gate.#open) return void down.destroy();
      const up = connect(targetPort, "127.0.0.1");
      const pair: [Socket, Socket] = [down, up];
      gate.#pairs.add(pair);
      const end = () => {
        gate.#pairs.delete(pair);
        down.destroy();
        up.destroy();
      };
      for (const s of pair) s.on("error", end).on("close", end);
      down.pipe(up);
      up.on("data", (d: Buffer) => void (gate.#muted || down.write(d)));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    gate = new TcpGate(server, (server.address() as AddressInfo).port);
    return gate;
  }

  close(): void {
    this.#open = false;
    for (const [down, up] of this.#pairs) {
      down.destroy();
      up.destroy();
    }
    this.#pairs.clear();
  }

  /** Opens the gate (and unmutes it). */
  open(): void {
    this.#open = true;
    this.#muted = false;
  }

  mute(): void {
    this.#muted = true;
  }

  shutdown(): Promise<void> {
    this.close();
    return new Promise((r) => this.#server.close(() => r()));
  }
}
