import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The seed guide's example profile_override.toml (lines 359-371) with the two table headers the
 * guide names on line 374 ("[profile.nvidia-259]" and "[vm.100]"), which the captured text lost.
 * See test/fixtures/formats/SOURCES.md.
 */
export const SEED_PROFILE_OVERRIDE = readFileSync(
  join(import.meta.dirname, "..", "fixtures", "formats", "seed-profile-override.toml"),
  "utf8",
);
