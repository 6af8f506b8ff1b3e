/**
 * vgpu_unlock-rs (research/unlock.md §1, §4):
 *  unlock-missing            consumer GPU, but the library is not preloaded into BOTH nvidia-vgpud and
 *                            nvidia-vgpu-mgr (drop-ins), or the .so is absent (e.g. after an upgrade), or
 *                            LD_PRELOAD names a directory (the seed guide's web copy lost the file name).
 *  unlock-disabled-consumer  `unlock = false` in /etc/vgpu_unlock/config.toml with a GPU that needs it
 *                            (seed guide "mdevctl types doesn't output anything").
 *  unlock-enabled-native     unlock active although every GPU is natively supported (the seed guide tells
 *                            native cards to set `unlock = false`).
 *  unlock-version-mismatch   the library's struct sizes lag the driver: "Parameters size for … was N bytes,
 *                            expected …" in the journal (overrides silently ignored — mbilker #51/#53/#47), or
 *                            overrides configured on a branch the library is known not to handle (19.1+).
 *  unlock-config-invalid (extra) config.toml does not parse: both NVIDIA daemons abort.
 *  override-unread (extra)   profile_override.toml sets overrides, but nvidia-vgpu-mgr does not preload
 *                            vgpu_unlock-rs, the only thing that reads the file (issue 13 item 6; a host
 *                            whose GPUs need the unlock gets unlock-missing instead).
 */
import { DEFAULT_UNLOCK_LIBRARY, deriveUnlock, UNLOCK_UNITS } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import { finding, grep, type HostView, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

const CONFIG = "/etc/vgpu_unlock/config.toml";
const RESTART = "systemctl restart nvidia-vgpud.service nvidia-vgpu-mgr.service";

export function checkUnlock(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  return [
    ...configInvalid(v),
    ...missing(v),
    ...disabledConsumer(v),
    ...enabledNative(v),
    ...versionMismatch(v),
    ...overridesUnread(v),
  ];
}

const MGR = "nvidia-vgpu-mgr.service";
const OVERRIDES = "/etc/vgpu_unlock/profile_override.toml";

function overridesUnread(v: HostView): Finding[] {
  const po = v.facts.profileOverride;
  if (!po?.present || po.sections.length === 0 || v.facts.dropins === null) return [];
  if (consumerGpus(v).length > 0) return []; // unlock-missing says it, with the fix for those GPUs
  const u = deriveUnlock(v.facts);
  if (u.preloadedIn.includes(MGR) && u.installed !== false) return [];
  const names = po.sections.map((x) => `[${x.kind}.${x.key}]`);
  return [
    finding(
      "override-unread",
      "warning",
      `${OVERRIDES} sets overrides (${names.slice(0, 4).join(", ")}${names.length > 4 ? ", …" : ""}), but nothing reads it: vgpu_unlock-rs is not preloaded into ${MGR}`,
      [
        `${OVERRIDES}: ${po.sections.length} section(s), first at line ${po.sections[0]!.line}`,
        u.preloadedIn.includes(MGR)
          ? `${MGR}: LD_PRELOAD=${u.library}, but the library is not built`
          : `/etc/systemd/system/${MGR}.d/: no drop-in sets LD_PRELOAD=${DEFAULT_UNLOCK_LIBRARY}`,
      ],
      [
        "With `unlock: auto` in vgpu.yaml, `vgpuctl apply` installs vgpu_unlock-rs with `unlock = false` when overrides are in use (the guide's setup for natively supported GPUs)",
        `By hand: build vgpu_unlock-rs, add the vgpu_unlock.conf drop-ins to nvidia-vgpud and ${MGR}, echo "unlock = false" > ${CONFIG}, then ${RESTART}`,
        `Or, if the overrides are not wanted: vgpuctl override unset --vm VMID (or remove ${OVERRIDES})`,
      ],
    ),
  ];
}

function consumerGpus(v: HostView) {
  return (v.gpus ?? []).filter((g) => g.cls?.support === "unlock");
}

function typesOffered(v: HostView, address: string): boolean | null {
  if (!v.facts.mdevTypes) return null;
  return v.facts.mdevTypes.some((t) => t.parent === address);
}

function configInvalid(v: HostView): Finding[] {
  const c = v.facts.unlockConfig;
  if (!c?.present || !c.error) return [];
  return [
    finding(
      "unlock-config-invalid",
      "error",
      `${CONFIG} does not parse: nvidia-vgpud and nvidia-vgpu-mgr abort while it is broken`,
      [`${CONFIG}${c.error.line ? `:${c.error.line}` : ""}: ${c.error.message}`],
      [
        `Fix the TOML syntax in ${CONFIG} (valid keys: unlock, unlock_migration, pci_info_map) — or, for the default behaviour, remove it: rm ${CONFIG}`,
        RESTART,
      ],
    ),
  ];
}

function missing(v: HostView): Finding[] {
  const f = v.facts;
  const consumers = consumerGpus(v);
  if (consumers.length === 0) return [];
  const u = deriveUnlock(f);
  const evidence: string[] = [];
  const fix: string[] = [];
  let severity: "error" | "warning" = "error";

  // Drop-ins
  const dirMissing: string[] = [];
  const badPaths: string[] = [];
  if (f.dropins !== null) {
    for (const unit of UNLOCK_UNITS) {
      const d = f.dropins.filter((x) => x.unit === unit);
      const pre = d
        .map((x) => ({ path: x.path, val: x.environment.LD_PRELOAD ?? null }))
        .find((x) => x.val && /vgpu_unlock/.test(x.val));
      if (!pre) {
        dirMissing.push(unit);
        evidence.push(`/etc/systemd/system/${unit}.d/: no drop-in sets LD_PRELOAD=${DEFAULT_UNLOCK_LIBRARY}`);
      } else if (!/\.so$/.test(pre.val!)) {
        badPaths.push(unit);
        evidence.push(`${pre.path}: Environment=LD_PRELOAD=${pre.val}  (a directory, not the library file)`);
      }
    }
  }
  // Library
  const lib = u.library ?? DEFAULT_UNLOCK_LIBRARY;
  const libMissing =
    f.unlockLibraryFiles !== null &&
    lib.startsWith("/opt/vgpu_unlock-rs/target/release/") &&
    !f.unlockLibraryFiles.includes("libvgpu_unlock_rs.so");
  if (libMissing)
    evidence.push(
      `ls /opt/vgpu_unlock-rs/target/release: ${f.unlockLibraryFiles!.length ? `${f.unlockLibraryFiles!.join(" ")} (no libvgpu_unlock_rs.so)` : "empty or absent"}`,
    );
  if (dirMissing.length === 0 && badPaths.length === 0 && !libMissing) return [];

  // Types offered anyway and only the vgpud side looks missing: something else preloads it.
  const offered = consumers.some((g) => typesOffered(v, g.address) === true);
  if (offered && !libMissing && !dirMissing.includes("nvidia-vgpu-mgr.service") && badPaths.length === 0)
    severity = "warning";
  for (const g of consumers)
    evidence.push(
      `${g.label}: consumer GPU, needs vgpu_unlock (spoofed as ${g.cls?.spoofAs?.name ?? "a vGPU board"})`,
    );
  if (offered)
    evidence.push(
      'vGPU types are offered now, but VMs fail to start if nvidia-vgpu-mgr lacks the library ("vGPU is supported only on VGX capable boards")',
    );

  if (libMissing)
    fix.push(
      "test -d /opt/vgpu_unlock-rs || git clone https://github.com/mbilker/vgpu_unlock-rs.git /opt/vgpu_unlock-rs",
      "cd /opt/vgpu_unlock-rs && git pull && cargo build --release",
    );
  for (const unit of [...dirMissing, ...badPaths]) {
    fix.push(
      `mkdir -p /etc/systemd/system/${unit}.d && printf '[Service]\\nEnvironment=LD_PRELOAD=${DEFAULT_UNLOCK_LIBRARY}\\n' > /etc/systemd/system/${unit}.d/vgpu_unlock.conf`,
    );
  }
  fix.push("systemctl daemon-reload", RESTART, "mdevctl types   (should now list vGPU types)");
  const what = [
    dirMissing.length ? `not preloaded into ${dirMissing.join(" and ")}` : null,
    badPaths.length ? `LD_PRELOAD of ${badPaths.join(" and ")} is not the library file` : null,
    libMissing ? "libvgpu_unlock_rs.so is not built" : null,
  ]
    .filter(Boolean)
    .join("; ");
  return [
    finding(
      "unlock-missing",
      severity,
      `vgpu_unlock is needed but not active: ${what}`,
      evidence,
      fix,
      consumers[0]!.address,
    ),
  ];
}

function disabledConsumer(v: HostView): Finding[] {
  const consumers = consumerGpus(v);
  const c = v.facts.unlockConfig;
  if (consumers.length === 0 || !c || !c.present || c.unlock !== false) return [];
  const native = (v.gpus ?? []).filter((g) => g.cls?.support === "native");
  return [
    finding(
      "unlock-disabled-consumer",
      "error",
      `${CONFIG} sets unlock = false, but ${consumers.map((g) => g.label).join(", ")} needs the unlock`,
      [
        `${CONFIG}: unlock = false`,
        ...consumers.map((g) => `${g.label}: ${g.cls?.supportReason ?? "consumer GPU"}`),
        ...(v.facts.mdevTypes && consumers.every((g) => typesOffered(v, g.address) === false)
          ? ["mdevctl types: no types offered for it"]
          : []),
      ],
      [
        `sed -i '/^[[:space:]]*unlock[[:space:]]*=/d' ${CONFIG}   (unlock defaults to true)`,
        ...(native.length
          ? [
              `Native GPUs (${native.map((g) => g.address).join(", ")}) are not spoofed, so leaving unlock on is safe for them`,
            ]
          : []),
        RESTART,
      ],
      consumers[0]!.address,
    ),
  ];
}

function enabledNative(v: HostView): Finding[] {
  if (!v.gpus) return [];
  const capable = v.gpus.filter((g) => g.cls && g.cls.support !== "unsupported");
  if (capable.length === 0 || capable.some((g) => g.cls?.support !== "native")) return [];
  const u = deriveUnlock(v.facts);
  if (u.enabled !== true) return [];
  return [
    finding(
      "unlock-enabled-native",
      "warning",
      `vgpu_unlock is active, but ${capable.map((g) => g.label).join(", ")} ${capable.length > 1 ? "are" : "is"} natively vGPU-capable: the unlock only adds failure points`,
      [
        ...u.preloadedIn.map((unit) => `${unit}: LD_PRELOAD=${u.library ?? "libvgpu_unlock_rs.so"}`),
        v.facts.unlockConfig?.present
          ? `${CONFIG}: no "unlock = false"`
          : `${CONFIG}: absent (unlock defaults to true)`,
      ],
      [
        `echo "unlock = false" > ${CONFIG}   (keeps profile_override.toml working; or remove the vgpu_unlock.conf drop-ins)`,
        RESTART,
      ],
    ),
  ];
}

function releaseNumber(r: string | undefined): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(r ?? "");
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function versionMismatch(v: HostView): Finding[] {
  const f = v.facts;
  const lines = [
    ...grep(f.journals.vgpuMgr, /Parameters size for \S+ was \d+ bytes, expected/, 4),
    ...grep(f.journals.vgpud, /Parameters size for \S+ was \d+ bytes, expected/, 2),
  ];
  const po = f.profileOverride?.present ? f.profileOverride : null;
  const overrides = po?.sections.length ?? 0;
  if (lines.length > 0) {
    return [
      finding(
        "unlock-version-mismatch",
        overrides > 0 ? "error" : "warning",
        `vgpu_unlock-rs does not know this driver's structures${v.release ? ` (vGPU ${v.release.vgpuRelease})` : ""}: ${
          overrides > 0 ? "the profile overrides are silently ignored" : "it skips patching those calls"
        }`,
        [
          ...lines.map((l) => `journal: ${l}`),
          ...(overrides
            ? [`/etc/vgpu_unlock/profile_override.toml: ${overrides} section(s) not applied`]
            : []),
        ],
        [
          "cd /opt/vgpu_unlock-rs && git pull && cargo build --release   (newer struct sizes: 17.x PR #33, 18.x PR #43, 19.0 PR #52)",
          RESTART,
          "If it persists, use a driver release the library supports (16.x/17.x are the safe choice for overrides)",
        ],
      ),
    ];
  }
  const rel = releaseNumber(v.release?.vgpuRelease);
  if (overrides > 0 && rel && (rel[0] > 19 || (rel[0] === 19 && rel[1] >= 1))) {
    return [
      finding(
        "unlock-version-mismatch",
        "warning",
        `Profile overrides are configured, but vgpu_unlock-rs does not yet handle vGPU ${v.release!.vgpuRelease} structures (mbilker/vgpu_unlock-rs#53): they may be ignored`,
        [
          `driver ${v.driver?.version} = vGPU ${v.release!.vgpuRelease}`,
          `/etc/vgpu_unlock/profile_override.toml: ${overrides} section(s)`,
        ],
        [
          "Start a VM, then: journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service | grep -e 'Parameters size' -e Patching",
          "Use a 17.x/18.x release if overrides must apply",
        ],
      ),
    ];
  }
  return [];
}
