/**
 * vgpu_unlock-rs for consumer GPUs: where it comes from (a prebuilt library, a checkout vgpuctl
 * clones, or one already there), then the steps: the Rust toolchain, the clone, the build.
 */
import type { HostEntry } from "../../desired/schema.ts";
import { deriveUnlock, type UnlockState } from "../../facts/derive.ts";
import type { PlanContext } from "../context.ts";
import { CARGO, DEFAULT_UNLOCK_SOURCE, RUSTUP } from "../paths.ts";
import type { Change, PlanInput } from "../types.ts";
import { PassOutput } from "./output.ts";
import { unlockUpdateStep } from "./unlock-update.ts";

export interface UnlockSource {
  source: string;
  /** A prebuilt library vgpu.yaml names (nothing is built then). */
  library: string | null;
  builtLibrary: string;
}

export function unlockSource(entry: HostEntry): UnlockSource {
  const source = (entry.vgpuUnlock?.source ?? DEFAULT_UNLOCK_SOURCE).replace(/\/+$/, "");
  return {
    source,
    library: entry.vgpuUnlock?.library ?? null,
    builtLibrary: `${source}/target/release/libvgpu_unlock_rs.so`,
  };
}

export interface UnlockDecision extends UnlockSource {
  /** What the host has of vgpu_unlock now. */
  state: UnlockState;
  /** The library must be built (vgpu_unlock used, no prebuilt one, not built yet). */
  build: boolean;
  /** cargo is missing for that build. */
  needRust: boolean;
  /** The checkout is missing for that build. */
  sourceMissing: boolean;
  /** ... and vgpu.yaml gives no `git:` to clone it from (a blocker). */
  sourceBlocked: boolean;
  /**
   * vgpu_unlock-rs is preloaded only so profile_override.toml is read: `unlock: auto`, no GPU needs the
   * unlock, but overrides are in use — the guide installs it on native cards with `unlock = false`
   * (seed guide "Have a vgpu supported card?"; research/unlock.md §1.3), issue 13 item 6.
   */
  forOverrides: boolean;
  /** vgpu_unlock-rs is (to be) preloaded: for the consumer GPUs, `unlock: on`, or for the overrides. */
  preload: boolean;
}

/**
 * Overrides are in use: profile_override.toml on the host has a section, or vgpu.yaml gives a VM
 * VRAM, a resolution or a display count (the vms planner writes those as overrides).
 */
export function overridesInUse(entry: HostEntry, input: PlanInput): boolean {
  const po = input.facts.profileOverride;
  if (po?.present && (po.sections.length > 0 || po.error !== null)) return true;
  return (entry.vms ?? []).some(
    (vm) => vm.vram !== undefined || vm.resolution !== undefined || vm.displays !== undefined,
  );
}

export function decideUnlock(
  entry: HostEntry,
  input: PlanInput,
  useUnlock: boolean,
  out: PassOutput,
  /** a natively supported GPU is set up (vgpu_unlock-rs for overrides only makes sense there) */
  hasNative = false,
): UnlockDecision {
  const u = unlockSource(entry);
  const probe = (p: string) => input.probes[p];
  const forOverrides = !useUnlock && hasNative && entry.unlock === "auto" && overridesInUse(entry, input);
  const preload = useUnlock || forOverrides;
  const build = preload && !u.library && probe(u.builtLibrary)?.exists !== true;
  const needRust = build && probe(CARGO)?.exists !== true;
  const sourceMissing = build && probe(`${u.source}/Cargo.toml`)?.exists === false;
  const sourceBlocked = sourceMissing && !entry.vgpuUnlock?.git;
  if (preload && u.library && probe(u.library)?.exists === false)
    out.block(
      "unlock-library-missing",
      `vgpu_unlock library ${u.library} does not exist on the host`,
      [u.library],
      ["copy the prebuilt libvgpu_unlock_rs.so there, or use `vgpuUnlock: { source: … }` to build it"],
    );
  if (sourceBlocked)
    out.block(
      "unlock-source-missing",
      `No vgpu_unlock-rs checkout at ${u.source}`,
      [`${u.source}/Cargo.toml not found`],
      [
        `git clone https://github.com/mbilker/vgpu_unlock-rs ${u.source}`,
        "or add `vgpuUnlock: { git: https://github.com/mbilker/vgpu_unlock-rs }` to let vgpuctl clone it",
      ],
    );
  const state = deriveUnlock(input.facts);
  return { ...u, state, build, needRust, sourceMissing, sourceBlocked, forOverrides, preload };
}

/** rust-toolchain, unlock-source (clone), unlock-build. */
export function unlockBuildPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const u = ctx.unlock;
  if (u.needRust)
    out.step({
      id: "rust-toolchain",
      title: "Install the Rust toolchain (rustup, minimal profile)",
      why: "vgpu_unlock-rs is built with cargo; Debian's packaged rustc is too old for it",
      changes: [
        {
          kind: "command",
          argv: [
            "sh",
            "-c",
            "curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --no-modify-path",
          ],
        },
      ],
      reboot: false,
      undo: {
        description: "rustup self uninstall",
        commands: [[RUSTUP, "self", "uninstall", "-y"]],
        regenerate: [],
      },
    });
  const git = ctx.entry.vgpuUnlock?.git;
  const why = u.forOverrides
    ? "profile_override.toml is read only by vgpu_unlock-rs: preloaded with `unlock = false`, as the guide does on natively supported GPUs"
    : "the consumer GPUs need vgpu_unlock-rs preloaded into the NVIDIA vGPU daemons";
  if (u.sourceMissing && git) out.step(cloneStep(u.source, git, ctx.entry.vgpuUnlock?.ref, why));
  unlockUpdateStep(ctx, out);
  if (u.build && !u.sourceBlocked)
    out.step({
      id: "unlock-build",
      title: "Build vgpu_unlock-rs",
      why: u.forOverrides
        ? "produces libvgpu_unlock_rs.so, which applies profile_override.toml (with `unlock = false` it spoofs nothing)"
        : "produces libvgpu_unlock_rs.so, which makes the driver treat the consumer GPUs as vGPU boards",
      changes: [
        {
          kind: "command",
          argv: [CARGO, "build", "--release", "--manifest-path", `${u.source}/Cargo.toml`],
        },
      ],
      reboot: false,
      undo: {
        description: "remove the build output",
        commands: [["rm", "-rf", `${u.source}/target`]],
        regenerate: [],
      },
    });
  return out;
}

/** Where the clone is made before it is renamed into place: a sibling of `source`, so `mv` is a rename. */
export function cloneTempDir(source: string): string {
  const slash = source.lastIndexOf("/");
  return `${source.slice(0, slash)}/.${source.slice(slash + 1)}.vgpuctl-tmp`;
}

/**
 * Safe to re-run from any point a `kill -9` can stop it at (issue 13): the clone is made in a temporary
 * sibling (a leftover of a killed run removed first), then renamed into place in one rename(2) — so
 * `source` is either absent or a whole checkout. The rename runs only while `source` has no Cargo.toml
 * (a run killed after it has nothing left to move: its fresh clone is dropped); `mv -T` never moves the
 * clone *into* an existing directory and refuses a non-empty one ("Directory not empty").
 */
function cloneStep(source: string, git: string, ref: string | null | undefined, why: string) {
  const tmp = cloneTempDir(source);
  const changes: Change[] = [
    { kind: "command", argv: ["rm", "-rf", "--", tmp] },
    // `--`: the URL and the directory are never read as options (the schema already refuses values
    // that look like one). `checkout REF --`: REF is a revision, never a path; `--end-of-options`
    // would say more but `git checkout` only honours it from git 2.44 (PVE 8 ships 2.39).
    { kind: "command", argv: ["git", "clone", "--", git, tmp] },
  ];
  if (ref) changes.push({ kind: "command", argv: ["git", "-C", tmp, "checkout", ref, "--"] });
  changes.push({
    kind: "command",
    argv: [
      "sh",
      "-c",
      'if [ -e "$1/Cargo.toml" ]; then rm -rf -- "$2"; else mv -T -- "$2" "$1"; fi',
      "sh",
      source,
      tmp,
    ],
  });
  return {
    id: "unlock-source",
    title: `Clone vgpu_unlock-rs into ${source}`,
    why,
    changes,
    reboot: false,
    undo: {
      description: `remove ${source}`,
      commands: [["rm", "-rf", "--", tmp, source]],
      regenerate: [],
    },
  };
}
