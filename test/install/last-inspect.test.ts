/**
 * The last inspection's VM ids and types for shell completion (src/cli/last-inspect.ts): where the file
 * goes (XDG Base Directory Specification: $XDG_CACHE_HOME when absolute, else ~/.cache), what it holds
 * (words a shell completes as they are), and that a cache that cannot be written never fails `inspect`.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { lastInspection, lastInspectPath, lastInspectText } from "../../src/cli/last-inspect.ts";
import { main } from "../../src/cli/main.ts";
import type { InspectReport } from "../../src/commands/inspect.ts";

it("lives in $XDG_CACHE_HOME when that is absolute, else in ~/.cache; nowhere without either", () => {
  expect(lastInspectPath({ XDG_CACHE_HOME: "/c", HOME: "/h" })).toBe("/c/vgpuctl/last-inspect.json");
  expect(lastInspectPath({ XDG_CACHE_HOME: "rel", HOME: "/h" })).toBe("/h/.cache/vgpuctl/last-inspect.json");
  expect(lastInspectPath({})).toBeNull();
});

it("holds VM ids and types by mdev type and by name without vendor, each once, one list per line", () => {
  const type = (t: string, name: string | null) =>
    ({ type: t, name }) as InspectReport["gpus"][0]["mdevTypes"][0];
  const report = {
    vms: [{ vmid: 100 }, { vmid: 205 }],
    gpus: [
      { mdevTypes: [type("nvidia-1155", "NVIDIA L40S-24Q"), type("nvidia-259", "GRID RTX6000-4Q")] },
      { mdevTypes: [type("nvidia-259", "GRID RTX6000-4Q"), type("nvidia-9", null), type("x", "odd name")] },
    ],
  } as unknown as InspectReport;
  const last = lastInspection(report);
  expect(last).toEqual({
    vmids: ["100", "205"],
    types: ["nvidia-1155", "L40S-24Q", "nvidia-259", "RTX6000-4Q", "nvidia-9", "x"],
  });
  const text = lastInspectText(last, new Date("2026-12-03T10:00:00Z"));
  expect(JSON.parse(text)).toEqual({ savedAt: "2026-12-03T10:00:00.000Z", ...last });
  expect(text.split("\n")).toContain('  "vmids": ["100","205"],');
});

it("a cache that cannot be written: inspect still succeeds, with one note on stderr", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vgpuctl-last-"));
  writeFileSync(join(dir, "cache"), "a file where the cache folder would be\n");
  let err = "";
  const code = await main(["node", "vgpuctl", "--host", "demo", "--json", "inspect"], {
    env: { NO_COLOR: "1", VGPUCTL_SIM_DIR: join(dir, "sim"), XDG_CACHE_HOME: join(dir, "cache") },
    out: () => {},
    err: (s) => {
      err += s;
    },
  });
  expect(code).toBe(0);
  expect(err).toMatch(/^note: completion cache not saved \(.*last-inspect\.json: ENOTDIR\)\n$/);
  expect(readdirSync(dir).sort()).toEqual(["cache", "sim"]);
});
