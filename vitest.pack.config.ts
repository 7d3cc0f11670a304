// `npm run test:pack`: the tarball smoke test, apart from the unit tests (it packs and installs).
import { defineConfig } from "vitest/config";
export default defineConfig({
  test: {
    include: ["test/pack.smoke.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
