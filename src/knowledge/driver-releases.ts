/**
 * The data of the driver matrix (drivers.ts builds DriverRelease rows from it). Every number here is cited in
 * driver-sources.ts terms: versions and dates from NVIDIA, patches from the patch repository, kernels from the
 * patch repository, Proxmox, or (marked) user reports.
 */
import {
  ANOMIXER_README,
  anomixerIssue,
  mirrorCommit,
  PVE_ROADMAP,
  PVE_WIKI_VGPU,
  pollolocoCommit,
  pollolocoMr,
  README,
  unlockIssue,
  unlockPull,
} from "./driver-sources.ts";

/**
 * NVIDIA's numbers per release: [release, Linux vGPU Manager (host), Linux guest, Windows guest, release month
 * (NVIDIA index; for releases after the index snapshot the month of the first bulletin that names it as the fixed
 * version, null when no bulletin does), bulletins naming it].
 */
export type NvidiaRow = readonly [
  release: string,
  host: string,
  guestLinux: string,
  guestWindows: string,
  released: string | null,
  bulletins: readonly number[],
];

/** Newest first. 13.x–20.x as NVIDIA lists them (index + bulletins 5312…5821). */
export const NVIDIA_ROWS: readonly NvidiaRow[] = [
  ["20.1", "595.71.03", "595.71.05", "596.36", "2026-05", [5821]],
  ["20.0", "595.58.02", "595.58.03", "595.97", null, [5821]],
  ["19.5", "580.159.01", "580.159.03", "582.53", "2026-05", [5821]],
  ["19.4", "580.126.08", "580.126.09", "582.16", "2026-01", [5747, 5821]],
  ["19.3", "580.105.06", "580.105.08", "581.80", null, [5747]],
  ["19.2", "580.95.02", "580.95.05", "581.42", "2025-10", [5703]],
  ["19.1", "580.82.02", "580.82.07", "581.15", "2025-09", [5703]],
  ["19.0", "580.65.05", "580.65.06", "580.88", "2025-08", []],
  ["18.6", "570.211.01", "570.211.01", "573.96", "2026-01", [5747]],
  ["18.5", "570.195.02", "570.195.03", "573.76", "2025-10", [5703, 5747]],
  ["18.4", "570.172.07", "570.172.08", "573.48", "2025-07", [5670, 5703]],
  ["18.3", "570.158.02", "570.158.01", "573.39", "2025-06", [5670]],
  ["18.2", "570.148.06", "570.148.08", "573.07", "2025-05", []],
  ["18.1", "570.133.10", "570.133.20", "572.83", "2025-03", [5630]],
  ["18.0", "570.124.03", "570.124.06", "572.60", "2025-03", [5630]],
  ["17.6", "550.163.02", "550.163.01", "553.74", "2025-04", [5630]],
  ["17.5", "550.144.02", "550.144.03", "553.62", "2025-01", [5614, 5630]],
  ["17.4", "550.127.06", "550.127.05", "553.24", "2024-10", [5586, 5614]],
  ["17.3", "550.90.05", "550.90.07", "552.74", "2024-07", [5557, 5586]],
  ["17.2", "550.90.05", "550.90.07", "552.55", "2024-06", [5551, 5557]],
  ["17.1", "550.54.16", "550.54.15", "551.78", "2024-03", [5551]],
  ["17.0", "550.54.10", "550.54.14", "551.61", "2024-02", []],
  ["16.14", "535.309.01", "535.309.01", "539.72", "2026-05", [5821]],
  ["16.13", "535.288.01", "535.288.01", "539.64", "2026-01", [5747, 5821]],
  ["16.12", "535.274.03", "535.274.02", "539.56", "2025-10", [5703, 5747]],
  ["16.11", "535.261.04", "535.261.03", "539.41", "2025-07", [5670, 5703]],
  ["16.10", "535.247.02", "535.247.01", "539.28", "2025-04", [5630, 5670]],
  ["16.9", "535.230.02", "535.230.02", "539.19", "2025-01", [5614, 5630]],
  ["16.8", "535.216.01", "535.216.01", "538.95", "2024-10", [5586, 5614]],
  ["16.7", "535.183.04", "535.183.06", "538.78", "2024-07", [5557, 5586]],
  ["16.6", "535.183.04", "535.183.01", "538.67", "2024-06", [5551, 5557]],
  ["16.5", "535.161.05", "535.161.08", "538.46", "2024-03", [5551]],
  ["16.4", "535.161.05", "535.161.07", "538.33", "2024-02", [5520]],
  ["16.3", "535.154.02", "535.154.05", "538.15", "2024-01", [5520]],
  ["16.2", "535.129.03", "535.129.03", "537.70", "2023-10", [5491]],
  ["16.1", "535.104.06", "535.104.05", "537.13", "2023-08", [5491]],
  ["16.0", "535.54.06", "535.54.03", "536.25", "2023-07", []],
  ["15.4", "525.147.01", "525.147.05", "529.19", "2023-10", [5491]],
  ["15.3", "525.125.03", "525.125.06", "529.11", "2023-06", [5468, 5491]],
  ["15.2", "525.105.14", "525.105.17", "528.89", "2023-03", [5452, 5468]],
  ["15.1", "525.85.07", "525.85.05", "528.24", "2023-01", [5452]],
  ["15.0", "525.60.12", "525.60.13", "527.41", "2022-12", []],
  ["14.4", "510.108.03", "510.108.03", "514.08", "2022-12", [5415]],
  ["14.3", "510.108.03", "510.108.03", "513.91", "2022-11", [5415]],
  ["14.2", "510.85.03", "510.85.02", "513.46", "2022-08", [5383]],
  ["14.1", "510.73.06", "510.73.08", "512.78", "2022-05", [5353, 5383]],
  ["14.0", "510.47.03", "510.47.03", "511.65", "2022-02", [5353]],
  ["13.12", "470.256.02", "470.256.02", "475.14", "2024-07", [5557]],
  ["13.11", "470.256.02", "470.256.02", "475.06", "2024-06", [5551, 5557]],
  ["13.10", "470.239.01", "470.239.06", "474.82", "2024-02", [5520, 5551]],
  ["13.9", "470.223.02", "470.223.02", "474.64", "2023-10", [5491, 5520]],
  ["13.8", "470.199.03", "470.199.02", "474.44", "2023-06", [5468, 5491]],
  ["13.7", "470.182.02", "470.182.03", "474.30", "2023-03", [5452, 5468]],
  ["13.6", "470.161.02", "470.161.03", "474.14", "2022-12", [5452]],
  ["13.5", "470.161.02", "470.161.03", "474.04", "2022-11", [5415]],
  ["13.4", "470.141.05", "470.141.03", "473.81", "2022-08", [5383]],
  ["13.3", "470.129.04", "470.129.06", "473.47", "2022-05", [5353, 5383]],
  ["13.2", "470.103.02", "470.103.01", "472.98", "2022-02", [5312, 5353]],
  ["13.1", "470.82", "470.82.01", "472.39", "2021-11", [5312]],
  ["13.0", "470.63", "470.63.01", "471.68", "2021-08", []],
];

/** Notes on NVIDIA's own numbers where two NVIDIA documents disagree; the row follows the first one named. */
export const NVIDIA_DISCREPANCIES: Record<string, string> = {
  "14.3":
    "NVIDIA's release table gives 14.3 the host driver 510.108.03 (shared with 14.4); the November 2022 bulletin (a_id 5415) instead lists 510.85.03 as the last affected version 'up to and including vGPU 14.3'",
  "16.2":
    "NVIDIA's release table gives 16.2 host and Linux guest 535.129.03; the October 2023 bulletin (a_id 5491) prints 535.109.03 for 16.2",
  "16.12":
    "the October 2025 bulletin (a_id 5703) misprints 16.12 as 575.274.02/575.274.03; the January 2026 bulletin (a_id 5747) gives 535.274.03 (host) and 535.274.02 (Linux guest)",
  "19.4":
    "the May 2026 bulletin (a_id 5821) gives host 580.126.08 for 19.4 (six times); the January 2026 bulletin (a_id 5747) prints 580.129.08 in two rows",
};

export type PatchAvailability = "polloloco" | "community-mirror";

/** Unlock patches: where the .patch file for a host driver was published. */
export interface PatchFact {
  file: string;
  availability: PatchAvailability;
  sources: string[];
  /** Kernel support the patch commit itself states ("including support for kernel 6.8") */
  note?: string;
}

const p = (file: string, sources: string[], note?: string): PatchFact => ({
  file,
  availability: "polloloco",
  sources,
  ...(note ? { note } : {}),
});
const m = (file: string, sources: string[], note?: string): PatchFact => ({
  file,
  availability: "community-mirror",
  sources,
  ...(note ? { note } : {}),
});

const P_510_108 = p("510.108.03.patch", [pollolocoCommit("22bd687e6d70e91bce59d6afe50bdac8978933e1")]);
const P_535_161 = p("535.161.05.patch", [
  pollolocoCommit("ab653f98771b94ad642868a8d2b0eda56316311f"),
  pollolocoCommit("e5ca18869437439390daf18d0ae2f355e728fc29"),
  pollolocoMr(9),
]);
const P_535_183 = p("535.183.04.patch", [
  pollolocoCommit("c255382788b16fcde1d452f0f19d093ab2e903d5"),
  pollolocoCommit("0277aff59a03063f05d145a66e40ba269009a710"),
]);
const P_550_90 = p("550.90.05.patch", [
  pollolocoCommit("c255382788b16fcde1d452f0f19d093ab2e903d5"),
  mirrorCommit("1cd85a830a23b1a7fc0ae83baf2891e70aa6ffbd"),
]);

/** By release. Releases sharing a host driver share its patch (the patch is made for the .run, not the release). */
export const PATCHES: Record<string, PatchFact> = {
  "20.0": m("595.58.02.patch", [mirrorCommit("388f9d30ecd5ce018f4d025375d8527580425473")]),
  "19.4": m("580.126.08.patch", [mirrorCommit("06d385feeae2ba9ff2f02aaea79b429a2033691b")]),
  "19.3": m("580.105.06.patch", [mirrorCommit("dbe77c3c04f0a48062fd4cfc9cd8506ceaebcbd3")]),
  "19.1": m("580.82.02.patch", [mirrorCommit("8da4370633e77fcab711f43ecae1d9bc0d12c25a")]),
  "19.0": m("580.65.05.patch", [mirrorCommit("f3d6acc94961851578170b90500d4121d6aeda11")]),
  "18.4": m("570.172.07.patch", [pollolocoMr(17), mirrorCommit("caa61612961b16f9eacaa5551895df784824246c")]),
  "18.3": m("570.158.02.patch", [mirrorCommit("eca2adb3bdce32e61827a98d3445a27d3ea896f3")]),
  "18.2": p("570.148.06.patch", [pollolocoCommit("74f3de8dee6dd7b40e2299c017ed4f3a18ec29a3")]),
  "18.1": p("570.133.10.patch", [pollolocoCommit("ac721caf2b524e1270c1b8b986ed54d83901e3fd")]),
  "18.0": p("570.124.03.patch", [
    pollolocoMr(13),
    pollolocoCommit("e1de40cdce1d3d78c08add7f4505fc5e85672ef7"),
  ]),
  "17.6": p("550.163.02.patch", [pollolocoCommit("ac721caf2b524e1270c1b8b986ed54d83901e3fd")]),
  "17.5": p("550.144.02.patch", [
    pollolocoCommit("e5217b832f5e8657fc8e487a5c6f1e9bedcad18f"),
    pollolocoCommit("b113b5d8e0d52d462f07da5332a664ce173f323b"),
    pollolocoCommit("f3e7b42fd65a2d5b87b2101b88e6e278e3874819"),
  ]),
  "17.4": p("550.127.06.patch", [pollolocoCommit("c38f027577f3159b3ce37b684c151058c4515bc4")]),
  "17.3": P_550_90,
  "17.2": P_550_90,
  "17.1": p("550.54.16.patch", [pollolocoCommit("e5ca18869437439390daf18d0ae2f355e728fc29"), pollolocoMr(9)]),
  "17.0": p("550.54.10.patch", [pollolocoCommit("e49ccb9edf91365d176db28901520ec08253e522")]),
  "16.9": p("535.230.02.patch", [
    pollolocoCommit("e5217b832f5e8657fc8e487a5c6f1e9bedcad18f"),
    pollolocoCommit("ab5fc9e7dbda8676c48c9b1e2f152c7d90f3c819"),
    pollolocoCommit("cac61ea0b21848c36c862b1c3328ac9d6a682bba"),
    pollolocoCommit("f3e7b42fd65a2d5b87b2101b88e6e278e3874819"),
  ]),
  "16.8": p("535.216.01.patch", [pollolocoCommit("c38f027577f3159b3ce37b684c151058c4515bc4")]),
  "16.7": P_535_183,
  "16.6": P_535_183,
  "16.5": P_535_161,
  "16.4": P_535_161,
  "16.2": p("535.129.03.patch", [pollolocoCommit("0c1d8e6bea031070d3c28a671b9921c1a58cbe79")]),
  "16.1": p("535.104.06.patch", [pollolocoCommit("028d78af09c5ee3ddedcae236c5233ca6ebd1423")]),
  "16.0": p("535.54.06.patch", [pollolocoCommit("9e3df0bdffcb884a86f9d38ac598fcc1418b7655")]),
  "15.1": p("525.85.07.patch", [pollolocoCommit("646e599bceb645064326e77ce098462d1cec7000")]),
  "15.0": p("525.60.12.patch", [pollolocoCommit("ba4b4b478703134a4f9c4421dcf9314fda39a586")]),
  "14.4": P_510_108,
  "14.3": P_510_108,
  "14.2": p("510.85.03.patch", [pollolocoCommit("f224154ea5a5e336f59f428537acda148f9aa7bd")]),
};

/** How sure a kernel claim is. */
export type KernelConfidence = "documented" | "reported working" | "reported failing" | "unknown";

/** Which installs a kernel claim is about. */
export type KernelSetup = "any" | "unlock" | "native";

/**
 * The kernels a release is known to build and run on (major.minor series, inclusive), with how that is known.
 * `failsAbove`: the source also says newer kernels do not work (else: newer kernels are simply unknown).
 */
export interface KernelRangeFact {
  min: string | null;
  max: string | null;
  confidence: Exclude<KernelConfidence, "reported failing">;
  failsAbove: boolean;
  evidence: string[];
  sources: string[];
}

/** One claim about a span of kernels beyond (or narrower than) the range: a failure or a success report. */
export interface KernelReport {
  /** first kernel series the claim covers, e.g. "6.17" */
  from: string;
  /** last series, inclusive; null = and newer */
  to: string | null;
  works: boolean;
  confidence: "documented" | "reported";
  setup: KernelSetup;
  /** only for these generations (of the board whose driver runs), e.g. consumer Pascal */
  generations?: string[];
  evidence: string;
  source: string;
}

const UNKNOWN_RANGE: KernelRangeFact = {
  min: null,
  max: null,
  confidence: "unknown",
  failsAbove: false,
  evidence: ["no primary or reported source ties this release to Proxmox kernels"],
  sources: [],
};

const range = (
  min: string | null,
  max: string | null,
  confidence: KernelRangeFact["confidence"],
  evidence: string[],
  sources: string[],
  failsAbove = false,
): KernelRangeFact => ({ min, max, confidence, failsAbove, evidence, sources });

/** MR 9 (2024-05): "the following three kernel changes in 6.8 break the vGPU drivers" — patches before 16.4/17.1 revisions do not build on 6.8. */
const BREAKS_ON_68: KernelReport = {
  from: "6.8",
  to: null,
  works: false,
  confidence: "documented",
  setup: "any",
  evidence:
    'polloloco MR 9 "add support for Proxmox 8.2.2 (Linux 6.8)": "the following three kernel changes in 6.8 break the vGPU drivers" (vfio_main.c, device/bus.h, eventfd); fixed only in the 16.5/17.1 patches',
  source: pollolocoMr(9),
};

/** anomixer v1.75 changelog / README: kernel ≥ 6.17 breaks the vgpu-proxmox patches; unlock installs are downgraded to 6.14.11. */
const UNLOCK_FAILS_617: KernelReport = {
  from: "6.17",
  to: null,
  works: false,
  confidence: "reported",
  setup: "unlock",
  evidence:
    'user report (community installer anomixer/proxmox-vgpu-installer): v1.75 downgrades and pins kernel 6.14.11 when an unlock (patched) install runs on 6.17+, native installs are left alone; its merged-driver builds "target <= 6.14"',
  source: ANOMIXER_README,
};

/** Consumer Maxwell/Pascal with vgpu_unlock: users pin 6.5 (anomixer README), builds reported failing on 6.14 / 6.17. */
const PASCAL_UNLOCK_ABOVE_65: KernelReport = {
  from: "6.8",
  to: null,
  works: false,
  confidence: "reported",
  setup: "unlock",
  generations: ["maxwell", "pascal"],
  evidence:
    'user report (community installer README): "Pascal consumer GPUs (GTX 10-series) using vgpu_unlock … require kernel 6.5.x or older … pin the host kernel to 6.5.x" (its own explanation: the newer branches avoid an "enable_apicv dependency")',
  source: ANOMIXER_README,
};

const BUILD_FAILS_617_16_9: KernelReport = {
  from: "6.17",
  to: null,
  works: false,
  confidence: "reported",
  setup: "unlock",
  evidence:
    'user report: the patched 535.230.02 fails to build against linux-headers-6.17.2-1-pve ("os-interface.h: No such file or directory", GTX 1080 Ti)',
  source: anomixerIssue(7),
};

const NATIVE_16_ON_NEW_KERNELS: KernelReport = {
  from: "6.2",
  to: "7.0",
  works: true,
  confidence: "reported",
  setup: "native",
  evidence:
    'user report (community installer README matrix): native Maxwell/Pascal boards on "vGPU 16.x (e.g. 16.14)" with "Kernel 6.2, 6.5, 6.8, 6.14+, 7.x", PVE 8 and 9',
  source: ANOMIXER_README,
};

/** Kernel evidence per release (ranges) and extra reports. */
export function kernelFacts(release: string): { range: KernelRangeFact; reports: KernelReport[] } {
  const [major, minor] = release.split(".").map(Number) as [number, number];
  const unlock617 = release in PATCHES && major >= 16 ? [UNLOCK_FAILS_617] : [];
  const branch =
    major === 13 || major === 14 || major === 15
      ? kernels13to15(release)
      : major === 16
        ? kernels16(release, minor)
        : major === 17
          ? kernels17(release, minor)
          : major === 18
            ? kernels18()
            : major === 19
              ? kernels19(minor)
              : kernels20(minor);
  return { range: branch.range, reports: [...branch.reports, ...unlock617] };
}

interface BranchKernelFacts {
  range: KernelRangeFact;
  reports: KernelReport[];
}

const facts = (range: KernelRangeFact, reports: KernelReport[] = []): BranchKernelFacts => ({
  range,
  reports,
});

/** vGPU 13–15: the polloloco README's range for 14.2–15.1. */
function kernels13to15(release: string): BranchKernelFacts {
  if (
    release === "14.2" ||
    release === "14.3" ||
    release === "14.4" ||
    release === "15.0" ||
    release === "15.1"
  )
    return facts(
      range(
        "5.14",
        "6.0",
        "documented",
        [
          'polloloco README (2023-03, PVE 7.4): "Something in the range of 5.14 up to 6.0 should work. Newer kernels like 6.1 or 6.2 do NOT work"',
        ],
        [README.pve74],
        true,
      ),
    );
  return facts(UNKNOWN_RANGE);
}

/** vGPU 16. */
function kernels16(release: string, minor: number): BranchKernelFacts {
  const pascal = [PASCAL_UNLOCK_ABOVE_65];
  const onPve7 = (fact: KernelRangeFact): KernelRangeFact => ({
    ...fact,
    evidence: [
      ...fact.evidence,
      'user report (community installer README): 16.x unlock on "PVE 7.x" (kernel 5.15)',
    ],
    sources: [...fact.sources, ANOMIXER_README],
  });
  const r7 = (fact: KernelRangeFact, reports: KernelReport[] = []) => facts(onPve7(fact), reports);
  if (minor <= 3)
    return facts(
      range(
        "5.15",
        "6.5",
        "reported working",
        [
          'polloloco README: 16.0 "Use this if you are on pve 8.0 (kernel 6.2)"; 16.2 "kernel 6.2, 6.5 should work too"',
          'user report (community installer README): 16.x unlock on "PVE 7.x" (kernel 5.15) and on PVE 8 pinned to 6.5',
        ],
        [README.pve80, README.v162, ANOMIXER_README],
      ),
      [BREAKS_ON_68],
    );
  if (minor <= 5)
    return r7(
      range(
        "5.15",
        "6.8",
        "documented",
        ['polloloco commit "16.5 and 17.1 support (including support for kernel 6.8)" (2024-05)'],
        [pollolocoCommit("e5ca18869437439390daf18d0ae2f355e728fc29"), pollolocoMr(9)],
      ),
      pascal,
    );
  if (minor <= 7)
    return r7(
      range(
        "5.15",
        "6.8",
        "documented",
        ['polloloco commit "Make 16.7 driver work on 6.8 kernel" (2024-09)'],
        [pollolocoCommit("0277aff59a03063f05d145a66e40ba269009a710")],
      ),
      pascal,
    );
  if (minor === 8)
    return r7(
      range(
        "5.15",
        "6.8",
        "documented",
        ['polloloco README (PVE 8.3, kernel 6.8) lists "16.8 (535.216.01)" among its patches'],
        [README.pve83],
      ),
      pascal,
    );
  if (minor === 9)
    return r7(
      range(
        "5.15",
        "6.14",
        "documented",
        [
          'polloloco commit "update 16.9 535.230.02 for linux kernel 6.14 (also work in 6.14.0-1-pve)" (2025-04, merged 2025-06)',
        ],
        [
          pollolocoCommit("cac61ea0b21848c36c862b1c3328ac9d6a682bba"),
          pollolocoCommit("f3e7b42fd65a2d5b87b2101b88e6e278e3874819"),
        ],
      ),
      [...pascal, BUILD_FAILS_617_16_9],
    );
  return facts(UNKNOWN_RANGE, [NATIVE_16_ON_NEW_KERNELS]);
}

/** vGPU 17. */
function kernels17(release: string, minor: number): BranchKernelFacts {
  if (minor === 0)
    return facts(
      range(
        "6.2",
        "6.5",
        "reported working",
        [
          'polloloco README (2024-03, PVE 8.1 = kernel 6.5) adds the 17.0 patch; "Proxmox VE 8.x … MUST use 16.x or 17.x"',
        ],
        [README.v170],
      ),
      [BREAKS_ON_68],
    );
  if (minor <= 4)
    return facts(
      range(
        "6.2",
        "6.8",
        "documented",
        [
          minor === 1
            ? 'polloloco commit "16.5 and 17.1 support (including support for kernel 6.8)"'
            : minor === 4
              ? 'polloloco README (PVE 8.3, kernel 6.8) lists "17.4 (550.127.06)"'
              : 'patch repository commit "fix Proxmox 8.2.2 (Linux 6.8) from 550.90.05"',
        ],
        [
          minor === 1
            ? pollolocoCommit("e5ca18869437439390daf18d0ae2f355e728fc29")
            : minor === 4
              ? README.pve83
              : mirrorCommit("1cd85a830a23b1a7fc0ae83baf2891e70aa6ffbd"),
        ],
      ),
    );
  if (minor === 5)
    return facts(
      range(
        "6.2",
        "6.14",
        "documented",
        [
          'polloloco commit "update 17.5 550.144.02 for linux kernel 6.12 (also work in 6.14.0-1-pve)" (merged 2025-06)',
        ],
        [
          pollolocoCommit("b113b5d8e0d52d462f07da5332a664ce173f323b"),
          pollolocoCommit("f3e7b42fd65a2d5b87b2101b88e6e278e3874819"),
        ],
      ),
    );
  return facts(
    range(
      "6.2",
      "6.14",
      "reported working",
      [
        'user report (community installer README): consumer Turing on "vGPU 17.6" with "Kernel 6.2, 6.5, 6.8, 6.14+", PVE 8 and 9; unlock installs on 6.17+ are downgraded to 6.14',
      ],
      [ANOMIXER_README],
    ),
  );
}

/** vGPU 18. */
function kernels18(): BranchKernelFacts {
  return facts(
    range(
      "6.8",
      "6.14",
      "reported working",
      [
        'patch author (MR 13, 18.0): "it work in my proxmox ve"; (MR 17, 18.4): "work in Proxmox8.4.1 (kernel 6.8.11-pve)"',
        "user report (community installer v1.2): PVE 9 (kernel 6.14) with 18.3, 18.4; Proxmox lists vGPU 18 as its first officially supported branch (wiki)",
      ],
      [pollolocoMr(13), pollolocoMr(17), ANOMIXER_README, PVE_WIKI_VGPU],
    ),
  );
}

/** vGPU 19. */
function kernels19(minor: number): BranchKernelFacts {
  if (minor === 5)
    return facts(
      range(
        "6.8",
        "7.0",
        "reported working",
        [
          "Proxmox wiki tested-versions table (as quoted by third parties, not read here): PVE 9.2.2, kernel 7.0.2-6-pve with vGPU 19.5 and 20.1",
        ],
        [PVE_WIKI_VGPU],
      ),
    );
  if (minor === 4)
    return facts(
      range(
        "6.8",
        "6.17",
        "reported working",
        [
          'Proxmox VE 9.1 release notes (as quoted by third parties, not read here): "NVIDIA vGPU Software 19.4 is compatible with kernel 6.17"',
        ],
        [PVE_ROADMAP],
      ),
    );
  return facts(
    range(
      "6.8",
      "6.14",
      "reported working",
      [
        "user report (community installer): 19.0 offered on PVE 9.0 (kernel 6.14); for 6.17 it only downgrades unlock installs, so native 19.0–19.3 on 6.17 is unknown",
      ],
      [ANOMIXER_README],
    ),
  );
}

/** vGPU 20. */
function kernels20(minor: number): BranchKernelFacts {
  return facts(
    range(
      "6.8",
      "7.0",
      "reported working",
      [
        'user report (community installer README): "Support for kernel 7.x with vGPU 20.0/20.1"',
        ...(minor === 1
          ? [
              "Proxmox wiki tested-versions table (as quoted by third parties, not read here): PVE 9.2.2, kernel 7.0.2-6-pve with vGPU 20.1",
            ]
          : []),
      ],
      [ANOMIXER_README, ...(minor === 1 ? [PVE_WIKI_VGPU] : [])],
    ),
  );
}

/** vgpu_unlock-rs caveats per branch (vgpu_unlock-rs issues and pull requests). */
export const UNLOCK_RS = {
  overrides18: {
    text: "vgpu_unlock-rs profile overrides were ignored on 18.0 (vgpu_unlock-rs#42) until the 18.x struct size was added (PR #43): update vgpu_unlock-rs",
    sources: [unlockIssue(42), unlockPull(43)],
  },
  overrides19plus: {
    text: "vgpu_unlock-rs does not understand the 19.1+ struct size (5432 bytes, vgpu_unlock-rs#53): profile_override.toml is silently not applied",
    sources: [unlockIssue(53)],
  },
};
