/** withoutVendor (src/knowledge/type-name.ts) answers as name.replace(/^(GRID|NVIDIA)\s+/i, "") does. */
import { describe, expect, it } from "vitest";
import { withoutVendor } from "../../src/knowledge/type-name.ts";

const REGEX = /^(GRID|NVIDIA)\s+/i;

describe("withoutVendor", () => {
  it.each([
    "GRID RTX6000-4Q",
    "NVIDIA L40S-24Q",
    "nvidia a16-4q",
    "Grid\t\tP40-2B",
    "GRIDRTX6000-4Q",
    "NVIDIA",
    "NVIDIA ",
    "GRID\u00a0T4-8Q",
    "  GRID T4-8Q",
    "L4-24Q",
    "",
    "NVİDIA L4-4Q",
    "GRİD L4-4Q",
  ])("%j", (name) => {
    expect(withoutVendor(name)).toBe(name.replace(REGEX, ""));
  });
});
