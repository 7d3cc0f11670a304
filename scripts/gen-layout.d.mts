// Types of scripts/gen-layout.mjs, for test/layout.test.ts.
export declare const SOURCE: string;
export declare const TARGET: string;
/** The text of src/core/layout.generated.ts for the given assembly/layout.ts source. */
export declare function renderLayout(source: string): string;
