/**
 * Where the driver matrix (driver-releases.ts) gets its facts: every URL a row cites. Primary sources only —
 * NVIDIA for versions and dates, the patch repository for patch availability and the kernels a patch was made
 * for, Proxmox for PVE/kernel pairings; community installers and user reports are marked as such where they
 * are the only evidence. Research notes are never a source.
 */

/**
 * NVIDIA's vGPU documentation index, "Driver Versions" tables: Linux vGPU Manager, Linux/Windows guest
 * driver and release month of every release. The copy read (a snapshot published in a public repository,
 * "URL Source: https://docs.nvidia.com/vgpu/index.html") ends at 16.11 / 17.6 / 18.4 / 19.1.
 */
export const NVIDIA_INDEX = "https://docs.nvidia.com/vgpu/index.html";

/** The releases the index snapshot lists (13.0–13.12, 14.x, 15.x, 16.0–16.11, 17.x, 18.0–18.4, 19.0–19.1). */
export function inNvidiaIndex(release: string): boolean {
  const [major, minor] = release.split(".").map(Number) as [number, number];
  const lastInIndex: Record<number, number> = { 13: 12, 14: 4, 15: 4, 16: 11, 17: 6, 18: 4, 19: 1 };
  const last = lastInIndex[major];
  return last !== undefined && minor <= last;
}

/**
 * NVIDIA product security bulletins ("Security Bulletin: NVIDIA GPU Display Driver – <month>"): each names,
 * per vGPU branch, the last affected Virtual GPU Manager / guest driver version ("All versions prior to and
 * including vGPU 16.11") and the fixed one ("535.274.03 (vGPU 16.12)"). Read from NVIDIA/product-security
 * (`<year>/<id>/<id>.md`, snapshot of 2026-08-18). Known misprints in them are recorded where a row depends on
 * the bulletin (16.12 host printed "575.274.03"; 19.4 host printed "580.129.08" in 5747, "580.126.08" in 5821).
 */
export function bulletin(id: number): string {
  return `https://nvidia.custhelp.com/app/answers/detail/a_id/${id}`;
}

/** Month each bulletin was published ("Updated" line of the bulletin). */
export const BULLETIN_MONTH: Record<number, string> = {
  5312: "2022-02",
  5353: "2022-05",
  5383: "2022-08",
  5415: "2022-11",
  5452: "2023-03",
  5468: "2023-06",
  5491: "2023-10",
  5520: "2024-02",
  5551: "2024-06",
  5557: "2024-07",
  5586: "2024-10",
  5614: "2025-01",
  5630: "2025-04",
  5670: "2025-07",
  5703: "2025-10",
  5747: "2026-01",
  5821: "2026-05",
};

/** polloloco/vgpu-proxmox (GitLab; GitHub mirror GreenDamTan/vgpu-proxmox_mirror has the same commits). */
export const pollolocoCommit = (sha: string) => `https://gitlab.com/polloloco/vgpu-proxmox/-/commit/${sha}`;
export const pollolocoReadmeAt = (sha: string) =>
  `https://gitlab.com/polloloco/vgpu-proxmox/-/blob/${sha}/README.md`;
export const pollolocoMr = (n: number) => `https://gitlab.com/polloloco/vgpu-proxmox/-/merge_requests/${n}`;
/** Commits that exist only on GreenDam's branches of the mirror (not merged upstream as far as we can see). */
export const mirrorCommit = (sha: string) =>
  `https://github.com/GreenDamTan/vgpu-proxmox_mirror/commit/${sha}`;

/** polloloco README revisions quoted by the matrix. */
export const README = {
  /** 2023-03 "Update to pve 7.4": "Something in the range of 5.14 up to 6.0 should work. Newer kernels like 6.1 or 6.2 do NOT work" */
  pve74: pollolocoReadmeAt("df93332349db5c874c1d0b4c2ce2d4e55dcda4bd"),
  /** 2023-07 "If you are using Proxmox VE 8.0, you MUST use 16.x drivers … 16.0 (535.54.06) - Use this if you are on pve 8.0 (kernel 6.2)" */
  pve80: pollolocoReadmeAt("9e3df0bdffcb884a86f9d38ac598fcc1418b7655"),
  /** 2023-11 "16.2 (535.129.03) - Use this if you are on pve 8.0 (kernel 6.2, 6.5 should work too)" */
  v162: pollolocoReadmeAt("0c1d8e6bea031070d3c28a671b9921c1a58cbe79"),
  /** 2024-03 (pve 8.1): "Starting from 17.0, all Pascal (and older) GPUs are not officially supported anymore" */
  v170: pollolocoReadmeAt("e49ccb9edf91365d176db28901520ec08253e522"),
  /** 2025-06 master (pve 8.3): patch list 16.0–17.5, "16.x is the LTS branch, with official support until July 2026" */
  pve83: pollolocoReadmeAt("74f3de8dee6dd7b40e2299c017ed4f3a18ec29a3"),
};

/**
 * anomixer/proxmox-vgpu-installer README (v1.85, commit 0ff480c): a community installer — its compatibility
 * matrix and changelog are user reports, not vendor documentation. Quoted: "Pascal consumer GPUs … using
 * vgpu_unlock … require kernel 6.5.x or older"; v1.75 "kernel downgrade to 6.14.11 when running 6.17+ with
 * unlock" (unlock setups only); "Kernel guard: warns on kernel 6.17+/7.x (merged 550~580 builds target <= 6.14)";
 * "Support for kernel 7.x with vGPU 20.0/20.1"; native Maxwell/Pascal 16.x (e.g. 16.14) on
 * "Kernel 6.2, 6.5, 6.8, 6.14+, 7.x", PVE 8 and 9.
 */
export const ANOMIXER_README =
  "https://github.com/anomixer/proxmox-vgpu-installer/blob/0ff480c432a94a291b7e5892dfe2c6ff6084903b/README.md";
export const anomixerIssue = (n: number) => `https://github.com/anomixer/proxmox-vgpu-installer/issues/${n}`;

/**
 * Proxmox's own pages on vGPU. The text vgpuctl relies on ("NVIDIA vGPU Software 19.4 is compatible with kernel
 * 6.17" in the 9.1 release notes; the wiki's tested-versions table listing PVE 9.2.2 / kernel 7.0.2-6-pve with
 * vGPU 19.5 and 20.1) could only be read as quoted by third parties, so rows citing it say "reported working".
 */
export const PVE_WIKI_VGPU = "https://pve.proxmox.com/wiki/NVIDIA_vGPU_on_Proxmox_VE";
export const PVE_ROADMAP = "https://pve.proxmox.com/wiki/Roadmap";

/** vgpu_unlock-rs PR #50 message: "Maxwell 2.0 and Pascal supports end in vGPU 16.x; Maxwell and Volta supports end in vGPU 19.x; RTX 6000, 8000 supports end in vGPU 19.x". */
export const UNLOCK_PR_50 = "https://github.com/mbilker/vgpu_unlock-rs/pull/50";
/** vgpu_unlock-rs issues on struct sizes: #42 (18.0 overrides ignored), #53 (19.1+ size 5432). */
export const unlockIssue = (n: number) => `https://github.com/mbilker/vgpu_unlock-rs/issues/${n}`;
export const unlockPull = (n: number) => `https://github.com/mbilker/vgpu_unlock-rs/pull/${n}`;

/** Is this a citable source: an http(s) URL (research notes such as "inst§2.1" are not)? */
export function isHttpSource(s: string): boolean {
  return /^https?:\/\/[^\s/]+\.[^\s/]+\/?\S*$/.test(s);
}
