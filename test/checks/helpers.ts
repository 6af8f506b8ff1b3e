import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runChecks } from "../../src/checks/index.ts";
import type { Finding } from "../../src/checks/types.ts";
import type { Facts } from "../../src/facts/types.ts";

export function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/checks/${name}`, import.meta.url)), "utf8");
}

export function otherFixture(area: string, name: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/${area}/${name}`, import.meta.url)), "utf8");
}

/** Build facts from the healthy host, changed by `mutate`. */
export function facts(base: () => Facts, mutate: (f: Facts) => void): Facts {
  const f = base();
  mutate(f);
  return f;
}

export function findingsOf(f: Facts): Finding[] {
  return runChecks(f);
}

/** The one finding with this code (fails the test when absent or repeated). */
export function only(f: Facts, code: string): Finding {
  const all = runChecks(f).filter((x) => x.code === code);
  if (all.length !== 1)
    throw new Error(
      `expected exactly one ${code}, got ${all.length}: ${JSON.stringify(runChecks(f).map((x) => x.code))}`,
    );
  return all[0]!;
}

export function codes(f: Facts): string[] {
  return runChecks(f).map((x) => x.code);
}

export function text(x: Finding): string {
  return [x.title, ...x.evidence, ...x.fix].join("\n");
}
