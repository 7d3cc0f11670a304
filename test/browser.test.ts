// Headless Chromium, driven by playwright-core: the browser's own WebSocket against our Node server
// (with the permessage-deflate it offers), and the browser bundle running on the WASM SIMD core
// inside a page and inside a service worker. The browser is the system's where one is installed,
// else the one the npm package @sparticuz/chromium ships (test/helpers/chromium.ts): no apt needed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { browserRequired, findChromium } from "./helpers/chromium.js";

const ROOT = join(import.meta.dirname, "..");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// No browser to be had: skipped, with one line saying why, unless WASMSOCKET_REQUIRE_BROWSER=1
// (.ci/run sets it), where the tests fail with that reason instead.
const found = await findChromium();
const skip = !found.ok && !browserRequired();
if (!found.ok) console.warn(`browser tests ${skip ? "SKIPPED" : "FAIL"}: no Chromium: ${found.reason}${skip ? " (WASMSOCKET_REQUIRE_BROWSER=1 makes this a failure)" : ""}`);

describe.skipIf(skip)(`in headless Chromium (${found.ok ? `${found.source}: ${found.version}` : "none"})`, () => {
  let browser: Browser;
  let server: ChildProcess;
  let origin: string;

  beforeAll(async () => {
    if (!found.ok) return; // required: each test fails with the reason
    const port = await freePort();
    server = spawn(process.execPath, ["examples/start.mjs", "--port", String(port)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => server.stdout!.on("data", (d) => String(d).includes("listening") && resolve()));
    origin = `http://127.0.0.1:${port}`;
    browser = await chromium.launch(found.launchOptions);
  });
  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });

  /** Opens `path`, waits for the page to publish its result in body[data-result], fails on page errors. */
  async function resultOf(path: string) {
    if (!found.ok) throw new Error(`no Chromium, and WASMSOCKET_REQUIRE_BROWSER is set: ${found.reason}`);
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
