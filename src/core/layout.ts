// The scanner's state block and frame-table entry layout, as the TypeScript side indexes it. The
// constants are generated from assembly/layout.ts into layout.generated.ts (scripts/gen-layout.mjs,
// run by `npm run build:wasm`); test/layout.test.ts fails when that file is stale.
export * from "./layout.generated.js";
import { S_UTF8 } from "./layout.generated.js";

/** Fields that persist between scan calls (the rest are configuration or per-call output). */
export const PERSISTENT_FIELDS = S_UTF8 + 1;
