// test/helpers/chromium.ts: how a browser is found, and why none is, for the browser tests and the
// package smoke test. The npm browser is launched here on every run (on Linux x64), so CI checks it
// even on a machine whose system browser the browser tests pick first.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { findChromium } from "./helpers/chromium.js";

const dir = mkdtempSync(join(tmpdir(), "wasmsocket-chromium-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe("findChromium", () => {
  it("passes over a system browser that is present but not executable, or that does not run, and says so", async () => {
    const notExecutable = file("chromium", "#!/bin/sh\necho Chromium 1.2.3\n", 0o644);
    const failing = file("google-chrome", "#!/bin/sh\necho 'no browser here' >&2\nexit 3\n", 0o755);
    const silent = file("chromium-browser", "#!/bin/sh\necho 'install me with snap'\n", 0o755);
    const r = await findChromium({ use: "system", systemPaths: [notExecutable, failing, silent, join(dir, "absent")] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toContain(`${notExecutable} is not executable`);
    expect(r.reason).toContain(`${failing} does not run`);
    expect(r.reason).toContain(`${silent} printed no version`);
    expect(r.reason).not.toContain("\n");
  });

  it("takes the first system browser that answers --version", async () => {
    const fake = file("chromium-ok", "#!/bin/sh\necho 'Chromium 999.0.1.2 fake'\n", 0o755);
    const r = await findChromium({ use: "system", systemPaths: [join(dir, "absent"), fake] });
    expect(r).toMatchObject({ ok: true, source: "system", version: "Chromium 999.0.1.2 fake", launchOptions: { executablePath: fake } });
    if (r.ok) expect(r.launchOptions.args).toEqual(expect.arrayContaining(["--headless", "--no-sandbox", "--disable-background-networking"]));
  });

  it("with neither a system browser nor the npm one, gives one line naming both", async () => {
    const notExecutable = file("chromium-nox", "", 0o644);
    const r = await findChromium({ use: "auto", systemPaths: [notExecutable], npmPackage: "@wasmsocket/no-such-browser" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/system browser unusable .*is not executable.*; @wasmsocket\/no-such-browser is not installed/);
    expect(await findChromium({ use: "none" })).toEqual({ ok: false, reason: "WASMSOCKET_CHROMIUM=none" });
    expect((await findChromium({ use: "firefox" })).ok).toBe(false);
  });

  it.skipIf(process.platform !== "linux" || process.arch !== "x64")("unpacks @sparticuz/chromium and runs WASM SIMD in it (no system browser needed)", async () => {
    const r = await findChromium({ use: "npm" });
    if (!r.ok) throw new Error(r.reason);
    expect(r.source).toBe("npm");
    expect(r.launchOptions.executablePath).toMatch(/node_modules\/\.cache\/wasmsocket-chromium\/[\d.]+\/chromium$/);
    const browser = await chromium.launch(r.launchOptions);
    try {
      for (let i = 0; i < 2; i++) {
        // Twice: the second page shows the browser outlives a closed page (not so with --single-process).
        const page = await browser.newPage();
        await page.goto("data:text/html,<title>ok</title>");
        // A module whose one function returns a v128 (i8x16.popcnt of i8x16.splat 0): valid only with SIMD.
        const simd = await page.evaluate(() => WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11])));
        expect(simd).toBe(true);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
