// Where tests get a headless Chromium, with nothing installed by apt: the system's browser where one
// is installed and runs, else the one the npm package @sparticuz/chromium ships (a devDependency:
// a brotli-packed headless Chromium for Linux x64, unpacked once into node_modules/.cache), else a
// reason why there is none.
//
//   import { chromium } from "playwright-core";
//   import { findChromium, browserRequired } from "./helpers/chromium.js";
//   const found = await findChromium();
//   if (found.ok) browser = await chromium.launch(found.launchOptions);
//   else if (browserRequired()) throw new Error(found.reason); else skip, saying found.reason
//
// Environment:
// - WASMSOCKET_CHROMIUM: "auto" (the default: system, then npm), "system" or "npm" (only that one),
//   "none" (as if there were no browser: for testing the skip), or the path of a Chromium to use.
// - WASMSOCKET_REQUIRE_BROWSER=1: browser tests fail instead of skipping when there is no browser
//   (`.ci/run` sets it).
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";

export type ChromiumSource = "system" | "npm" | "env";

/** How to launch the browser that was found. */
export interface ChromiumFound {
  ok: true;
  /** Where it came from: a system install, the npm package, or WASMSOCKET_CHROMIUM=<path>. */
  source: ChromiumSource;
  /** What `chromium --version` printed, e.g. "Chromium 147.0.7727.0". */
  version: string;
  /** Ready for playwright-core's `chromium.launch(launchOptions)`: headless, no sandbox (we run as root), quiet on the network. */
  launchOptions: { executablePath: string; args: string[] };
}

/** No browser: `reason` says why, in one line (for the skip message or the failure). */
export interface ChromiumMissing {
  ok: false;
  reason: string;
}

const ROOT = join(import.meta.dirname, "../..");
const SYSTEM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"];
/**
 * Flags for any Chromium here: no sandbox (root), and none of the browser's own background traffic
 * (this machine's network is closed: without these Chromium retries refused connections at start).
 */
const QUIET_ARGS = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SYSTEM_ARGS = ["--headless", "--disable-gpu", ...QUIET_ARGS];
/**
 * Of @sparticuz/chromium's own args (made for AWS Lambda), the one we leave out: with
 * --single-process the browser goes down when its first page is closed (playwright-core 1.65:
 * the next newPage() finds it closed); without it, pages and service workers run as usual.
 */
const DROPPED_ARGS = ["--single-process"];

/** True when browser tests must run: a missing browser fails them instead of skipping them. */
export function browserRequired(): boolean {
  const v = process.env.WASMSOCKET_REQUIRE_BROWSER;
  return v !== undefined && v !== "" && v !== "0" && v !== "false";
}

export interface FindChromiumOptions {
  /** "auto", "system", "npm", "none" or a path; default: WASMSOCKET_CHROMIUM, else "auto". */
  use?: string;
  /** The system browsers to try, in order; default: chromium, chromium-browser, google-chrome… on PATH and in /usr/bin. */
  systemPaths?: string[];
  /** The npm package that ships the browser; default "@sparticuz/chromium" (tests name a missing one). */
  npmPackage?: string;
}

let cached: Promise<ChromiumFound | ChromiumMissing> | undefined;

/**
 * Finds a Chromium to launch; never throws (a failure is `{ ok: false, reason }`). Without options
 * the answer is computed once per process.
 */
export function findChromium(options?: FindChromiumOptions): Promise<ChromiumFound | ChromiumMissing> {
  const run = () => lookup(options ?? {}).catch((e: unknown) => ({ ok: false as const, reason: `looking for Chromium failed: ${oneLine(e)}` }));
  if (options) return run();
  cached ??= run();
  return cached;
}

async function lookup(options: FindChromiumOptions): Promise<ChromiumFound | ChromiumMissing> {
  const choice = options.use?.trim() || process.env.WASMSOCKET_CHROMIUM?.trim() || "auto";
  if (choice === "none") return { ok: false, reason: "WASMSOCKET_CHROMIUM=none" };
  if (choice.includes("/")) {
    const why = notRunnable(choice) ?? (await versionOf(choice)).error;
    if (why) return { ok: false, reason: `WASMSOCKET_CHROMIUM=${choice}: ${why}` };
    return found("env", choice, (await versionOf(choice)).version!, SYSTEM_ARGS);
  }
  if (!["auto", "system", "npm"].includes(choice)) return { ok: false, reason: `WASMSOCKET_CHROMIUM=${choice}: expected auto, system, npm, none or a path` };
  const reasons: string[] = [];
  if (choice !== "npm") {
    const system = await systemChromium(options.systemPaths ?? defaultSystemPaths(), reasons);
    if (system) return system;
  }
  if (choice !== "system") {
    const npm = await npmChromium(options.npmPackage ?? "@sparticuz/chromium", reasons);
    if (npm) return npm;
  }
  return { ok: false, reason: reasons.join("; ") };
}

function found(source: ChromiumSource, executablePath: string, version: string, args: string[]): ChromiumFound {
  return { ok: true, source, version, launchOptions: { executablePath, args } };
}

function defaultSystemPaths(): string[] {
  const dirs = [...new Set([...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/bin"])];
  return SYSTEM_NAMES.flatMap((name) => dirs.map((dir) => join(dir, name)));
}

/** The first of `paths` that is a file we may execute and that answers --version. */
async function systemChromium(paths: string[], reasons: string[]): Promise<ChromiumFound | undefined> {
  const seen: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const why = notRunnable(path) ?? (await versionOf(path)).error;
    if (!why) return found("system", path, (await versionOf(path)).version!, SYSTEM_ARGS);
    seen.push(`${path} ${why}`);
  }
  reasons.push(seen.length ? `system browser unusable (${seen.join(", ")})` : `no system browser (none of ${SYSTEM_NAMES.join(", ")} on PATH)`);
  return undefined;
}

function notRunnable(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return "is not a file";
    accessSync(path, constants.X_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EACCES" ? "is not executable" : oneLine(e);
  }
}

const versions = new Map<string, Promise<{ version?: string; error?: string }>>();
/** Runs `path --version` (a wrapper script or a stub that cannot start a browser fails here). */
function versionOf(path: string): Promise<{ version?: string; error?: string }> {
  let v = versions.get(path);
  if (!v) {
    v = new Promise((resolve) => {
      execFile(path, ["--version"], { timeout: 20_000 }, (err, stdout) => {
        const version = String(stdout).trim().split("\n").pop()?.trim() ?? "";
        if (err) resolve({ error: `does not run (--version: ${oneLine(err)})` });
        else if (!/\d+\.\d+/.test(version)) resolve({ error: `printed no version for --version (${JSON.stringify(version.slice(0, 80))})` });
        else resolve({ version });
      });
    });
    versions.set(path, v);
  }
  return v;
}

/**
 * @sparticuz/chromium's browser, unpacked into node_modules/.cache/wasmsocket-chromium/<version>/.
 * Its executablePath() unpacks into os.tmpdir() (and trusts anything already there), so it runs in a
 * child process whose TMPDIR is a fresh folder, which is then renamed into place: a half-unpacked
 * browser is never used, and processes unpacking at once do not write over each other.
 */
async function npmChromium(pkg: string, reasons: string[]): Promise<ChromiumFound | undefined> {
  if (process.platform !== "linux" || process.arch !== "x64") {
    reasons.push(`@sparticuz/chromium ships Linux x64 only (this is ${process.platform} ${process.arch})`);
    return undefined;
  }
  let pkgDir: string;
  let version: string;
  try {
    // Its exports hide package.json: go up from build/cjs/index.cjs.
    pkgDir = dirname(dirname(dirname(createRequire(join(ROOT, "package.json")).resolve(pkg))));
    version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  } catch (e) {
    reasons.push(`${pkg} is not installed (${oneLine(e)})`);
    return undefined;
  }
  const cacheRoot = join(ROOT, "node_modules/.cache/wasmsocket-chromium");
  const dir = join(cacheRoot, version);
  const executable = join(dir, "chromium");
  try {
    if (!existsSync(executable) || (await versionOf(executable)).error) {
      versions.delete(executable);
      // A copy that does not run (a disk that filled up?) goes; a missing one is left to whoever renames first.
      if (existsSync(executable)) rmSync(dir, { recursive: true, force: true });
      mkdirSync(cacheRoot, { recursive: true });
      const staging = mkdtempSync(join(cacheRoot, `.unpack-${version}-`));
      try {
        const script = `import(${JSON.stringify(pkg)}).then((m) => m.default.executablePath()).then((p) => process.stdout.write(p))`;
        const out = await new Promise<string>((resolve, reject) =>
          execFile(process.execPath, ["-e", script], { cwd: ROOT, env: { ...process.env, TMPDIR: staging }, timeout: 120_000 }, (err, stdout, stderr) =>
            err ? reject(new Error(`${oneLine(err)} ${oneLine(stderr)}`)) : resolve(String(stdout)),
          ),
        );
        if (out !== join(staging, "chromium")) throw new Error(`unpacked to ${out}, expected ${join(staging, "chromium")}`);
        try {
          renameSync(staging, dir);
        } catch (e) {
          // Another process put its copy in place first: use that one.
          if (!existsSync(executable)) throw e;
        }
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    }
  } catch (e) {
    reasons.push(`${pkg} ${version} could not be unpacked (${oneLine(e)})`);
    return undefined;
  }
  const v = await versionOf(executable);
  if (v.error) {
    reasons.push(`${pkg} ${version}: ${executable} ${v.error}`);
    return undefined;
  }
  const { default: packaged } = (await import(pkg)) as { default: { args: string[] } };
  const args = [...packaged.args.filter((a) => !DROPPED_ARGS.includes(a)), ...QUIET_ARGS.filter((a) => !packaged.args.includes(a))];
  return found("npm", executable, v.version!, args);
}

function oneLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.replace(/\s+/g, " ").trim().slice(0, 300);
}
