// Headless Chromium (Debian's package, driven by playwright-core): the browser's own WebSocket
// against our Node server (with the permessage-deflate it offers), and the browser bundle running
// on the WASM SIMD core inside the page. `.ci/run` installs Chromium with apt-get.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(import.meta.dirname, "..");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// Without Chromium the test is skipped (so `npm test` is green on a fresh machine without apt), but
// not in CI (`CI=true`, where `.ci/run` installs it): there a missing browser fails the run.
const skip = !existsSync(CHROMIUM) && !process.env.CI;
if (skip) console.warn(`browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)`);

describe.skipIf(skip)("in headless Chromium", () => {
  let browser: Browser;
  let server: ChildProcess;
  let origin: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    const port = await freePort();
    server = spawn(process.execPath, ["examples/start.mjs", "--port", String(port)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => server.stdout!.on("data", (d) => String(d).includes("listening") && resolve()));
    origin = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });

  /** Opens `path`, waits for the page to publish its result in body[data-result], fails on page errors. */
  async function resultOf(path: string) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(origin + path);
    await page.waitForSelector("body[data-result]", { timeout: 20_000 });
    const result = JSON.parse((await page.getAttribute("body", "data-result"))!);
    await page.close();
    expect(errors).toEqual([]);
    return result;
  }

  it("the npm start page: browser WebSocket ↔ our server with permessage-deflate, WASM SIMD core in the page", async () => {
    const result = await resultOf("/");
    expect(result).toMatchObject({ core: "wasm-simd", selfCheck: true, echoed: 3, allOk: true });
    expect(result.extensions).toContain("permessage-deflate");
  });

  it("an ES-module service worker imports the bundle and round-trips compressed frames over a streams pair", async () => {
    const result = await resultOf("/sw.html");
    expect(result).toEqual({ core: "wasm-simd", ok: true, code: 1000, extensions: "permessage-deflate", compressed: true });
  });
});
