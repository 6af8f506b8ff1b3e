import { describe, expect, it } from "vitest";
import { openBrowser } from "../../src/cli/commands/dashboard.ts";
import { schemaRef } from "../../src/cli/commands/init.ts";

describe("best-effort paths say what failed", () => {
  it("dashboard --open with no browser opener on PATH prints a note naming the opener and the URL", async () => {
    const saved = process.env.PATH;
    const lines: string[] = [];
    process.env.PATH = "/nonexistent-vgpuctl-test";
    try {
      openBrowser("http://127.0.0.1:1/", (t) => lines.push(t));
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.env.PATH = saved;
    }
    expect(lines.join("")).toMatch(
      /could not open a browser \((xdg-open|open|cmd): .*ENOENT.*\); open http:\/\/127\.0\.0\.1:1\//,
    );
  });

  it("init's schema reference falls back to the plain name when the running script is gone", () => {
    expect(schemaRef("/tmp", "/nonexistent/bin/vgpuctl.js")).toBe("schema.json");
    expect(schemaRef("/tmp", undefined)).toBe("schema.json");
  });
});
