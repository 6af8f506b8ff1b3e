/** Paths the planner needs probed on the host (existence, sha256, first bytes) beyond the facts. */
import type { HostEntry } from "../desired/schema.ts";
import { LOCAL_PATCH } from "./passes/driver-files.ts";
import { unlockSource } from "./passes/unlock-build.ts";
import { CARGO } from "./paths.ts";

export function probeRequests(entry: HostEntry): Array<{ path: string; sha256: boolean; head: boolean }> {
  const out: Array<{ path: string; sha256: boolean; head: boolean }> = [];
  if (entry.driver) {
    out.push({ path: entry.driver.installer, sha256: true, head: true });
    if (entry.driver.patch) {
      out.push({ path: entry.driver.patch.path, sha256: true, head: true });
      // GNU patch 2.7.x built from source (passes/driver-files.ts checkPatchTool)
      out.push({ path: LOCAL_PATCH, sha256: false, head: false });
    }
  }
  if (entry.unlock !== "off") {
    const u = unlockSource(entry);
    if (u.library) out.push({ path: u.library, sha256: false, head: false });
    else {
      out.push({ path: `${u.source}/Cargo.toml`, sha256: false, head: false });
      // a git checkout can be updated when a driver upgrade needs a newer vgpu_unlock-rs (passes/unlock-update.ts)
      out.push({ path: `${u.source}/.git/HEAD`, sha256: false, head: false });
      out.push({ path: u.builtLibrary, sha256: false, head: false });
      out.push({ path: CARGO, sha256: false, head: false });
    }
  }
  return out;
}
