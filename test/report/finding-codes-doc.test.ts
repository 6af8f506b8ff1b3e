// The finding-code reference (issue 13 follow-up): docs/finding-codes.md is what `npm run gen:docs` writes
// from src/report/finding-codes.ts, it covers every doctor code (FINDING_CODES) and every code a plan
// refuses with (read from the planning sources, so a new blocker code without a line here fails).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FINDING_CODES } from "../../src/checks/types.ts";
import {
  BLOCKER_DOCS,
  FINDING_DOCS,
  findingCodesMarkdown,
  SHARED_BLOCKER_CODES,
} from "../../src/report/finding-codes.ts";

const ROOT = join(import.meta.dirname, "..", "..");

/** Every .ts file under src/plan (the passes, vms.ts, doctor-blockers.ts …). */
function planSources(dir = join(ROOT, "src", "plan")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? planSources(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [readFileSync(join(dir, e.name), "utf8")]
        : [],
  );
}

/** Codes passed literally to a block(…) call, and the checksum codes given `-unverified` / `-mismatch`. */
function blockerCodesInSources(): Set<string> {
  const out = new Set<string>();
  for (const text of planSources()) {
    for (const m of text.matchAll(/\bblock\(\s*"([a-z0-9-]+)"/g)) out.add(m[1]!);
    for (const m of text.matchAll(/\bcode: "([a-z0-9-]+-checksum)"/g)) {
      out.add(`${m[1]}-unverified`);
      out.add(`${m[1]}-mismatch`);
    }
  }
  return out;
}

describe("docs/finding-codes.md", () => {
  it("is what npm run gen:docs writes from the table (re-run it after changing src/report/finding-codes.ts)", () => {
    expect(readFileSync(join(ROOT, "docs", "finding-codes.md"), "utf8")).toBe(findingCodesMarkdown());
  });

  it("has a line with a severity, meaning and proof for every doctor code, in FINDING_CODES order", () => {
    const md = findingCodesMarkdown();
    for (const code of FINDING_CODES) {
      expect(FINDING_DOCS[code].severity.length, code).toBeGreaterThan(0);
      expect(FINDING_DOCS[code].meaning, code).not.toBe("");
      expect(FINDING_DOCS[code].proof, code).not.toBe("");
      expect(md, code).toContain(`| \`${code}\` |`);
    }
    const order = [...md.matchAll(/^\| `([a-z0-9-]+)` \| (?:error|warning|info)/gm)].map((m) => m[1]);
    expect(order).toEqual([...FINDING_CODES]);
  });

  it("names every code a plan refuses with: plan-only codes in their table, shared ones as findings", () => {
    const used = blockerCodesInSources();
    expect(used.size).toBeGreaterThan(30);
    const findings = new Set<string>(FINDING_CODES);
    for (const code of used) {
      if (findings.has(code)) expect(SHARED_BLOCKER_CODES, code).toContain(code);
      else expect(Object.keys(BLOCKER_DOCS), code).toContain(code);
    }
    // and no stale line for a code no plan uses any more
    for (const code of Object.keys(BLOCKER_DOCS)) expect(used, code).toContain(code);
  });
});
