// Types of bin/dist-freshness.js (plain JS: it runs before any TypeScript loader).
export declare const INPUTS: readonly string[];
/** The first input newer than the build, "" when the build is current, null when there is no build. */
export declare function staleInput(root: string): string | null;
