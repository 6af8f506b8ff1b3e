/**
 * Real-world bundles are partial and sometimes mangled (pasted from forums, truncated, CRLF).
 * Whatever is missing or damaged, inspect and doctor must neither crash nor invent errors:
 * for every scenario, drop and damage evidence at random (seeded, so a failure reproduces)
 * and check the invariants.
 */
import { describe, expect, it } from "vitest";
import { runChecks } from "../../src/checks/index.ts";
import type { Capture } from "../../src/facts/capture.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { listScenarios } from "../../src/hosts/sim/scenarios/index.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildInspectReport } from "../../src/report/inspect-report.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function damage(text: string, r: () => number): string {
  switch (Math.floor(r() * 5)) {
    case 0:
      return text.slice(0, Math.floor(text.length * r())); // truncated paste
    case 1:
      return text.replace(/\n/g, "\r\n"); // Windows clipboard
    case 2:
      return text.replace(/ {2,}/g, " "); // forum software collapsing spaces
    case 3:
      return `${text}\n\x00\x01garbage ${"=".repeat(200)}\n`;
    default:
      return text
        .split("\n")
        .filter(() => r() > 0.2)
        .join("\n"); // lines lost
  }
}

function mutate(cap: Capture, seed: number): Capture {
  const r = rng(seed);
  const out: Capture = { ...cap, commands: [], files: {}, capturedPaths: [...cap.capturedPaths] };
  for (const c of cap.commands) {
    const x = r();
    if (x < 0.3) continue; // not captured
    out.commands.push(x < 0.6 ? { ...c, stdout: damage(c.stdout, r) } : c);
  }
  for (const [p, content] of Object.entries(cap.files)) {
    const x = r();
    if (x < 0.3) continue;
    out.files[p] = x < 0.6 ? damage(content, r) : content;
  }
  if (r() < 0.5) out.capturedPaths = out.capturedPaths.filter(() => r() > 0.5);
  return out;
}

const scenarios = listScenarios().map((s) => s.name);

describe("partial and damaged evidence", () => {
  it.each(scenarios)("%s: 40 random damaged captures never crash inspect/doctor", async (name) => {
    const host = SimHost.fromState(
      (await import("../../src/hosts/sim/sim-host.ts")).buildScenarioState(name),
      `sim:${name}`,
    );
    const cap = await host.capture(GATHER_SPEC);
    for (let seed = 1; seed <= 40; seed++) {
      const facts = parseFacts(mutate(cap, seed * 7919));
      const report = buildInspectReport(facts);
      expect(report.host).toBe(cap.host);
      const findings = runChecks(facts);
      // a check that throws is turned into `check-failed`: none may throw on damaged input
      expect(
        findings.filter((f) => f.code === "check-failed"),
        `seed ${seed}`,
      ).toEqual([]);
      for (const f of findings) {
        expect(f.title.length, f.code).toBeGreaterThan(0);
        expect(Array.isArray(f.evidence) && Array.isArray(f.fix)).toBe(true);
      }
    }
  });

  it.each(["seed-configured", "p4-configured"])(
    "%s (healthy): dropping evidence never produces an error finding",
    async (name) => {
      const host = SimHost.fromState(
        (await import("../../src/hosts/sim/sim-host.ts")).buildScenarioState(name),
        `sim:${name}`,
      );
      const cap = await host.capture(GATHER_SPEC);
      const r = rng(42);
      for (let i = 0; i < 60; i++) {
        // drop only (no damage): what remains is true, so no error may appear
        const partial: Capture = {
          ...cap,
          commands: cap.commands.filter(() => r() > 0.5),
          files: Object.fromEntries(Object.entries(cap.files).filter(() => r() > 0.5)),
          capturedPaths: [],
        };
        const errors = runChecks(parseFacts(partial)).filter((f) => f.severity === "error");
        expect(
          errors.map((e) => `${e.code}: ${e.title}`),
          `iteration ${i}`,
        ).toEqual([]);
      }
    },
  );
});
