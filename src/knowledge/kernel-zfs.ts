/**
 * Which ZFS a Proxmox kernel series ships, and which pool features each OpenZFS release introduced: going back
 * to an older kernel (a pin) is refused when the root pool has a feature **active** that the older kernel's ZFS
 * does not know — zpool-features(7): support for an active feature "is required to import the pool in
 * read-write mode"; the host would stop in the initramfs ("cannot import 'rpool': unsupported version or
 * feature").
 *
 * Sources: Proxmox VE roadmap / release notes (7.4: kernel 5.15, ZFS 2.1; 8.1: 6.5 + ZFS 2.2.0; 8.2: 6.8 +
 * ZFS 2.2.3; 9.0: 6.14 + ZFS 2.3.3; 9.1: 6.17 + ZFS 2.3.4); zpool-features(7) of OpenZFS 2.2 (blake3,
 * block_cloning, head_errlog, vdev_zaps_v2, zilsaxattr) and 2.3 (fast_dedup, longname, large_microzap,
 * raidz_expansion) — manpages.ubuntu.com zfsutils-linux 2.2.2 (noble) and 2.3.2 (questing).
 */

const FEATURES_SINCE: ReadonlyArray<{ zfs: string; features: readonly string[] }> = [
  { zfs: "2.2", features: ["blake3", "block_cloning", "head_errlog", "vdev_zaps_v2", "zilsaxattr"] },
  { zfs: "2.3", features: ["fast_dedup", "longname", "large_microzap", "raidz_expansion"] },
];

/** The OpenZFS release a Proxmox kernel ("6.8.12-4-pve") ships: 2.3 from 6.14, 2.2 from 6.5, else 2.1. */
export function zfsOfKernel(kernel: string): string {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  const v = m ? Number(m[1]) * 100 + Number(m[2]) : 0;
  if (v >= 614) return "2.3";
  if (v >= 605) return "2.2";
  return "2.1";
}

/** Active features of the pool that `kernel`'s ZFS cannot import, with the release that brought each. */
export function featuresTooNewFor(
  kernel: string,
  features: Readonly<Record<string, string>>,
): Array<{ feature: string; zfs: string }> {
  const has = zfsOfKernel(kernel);
  const out: Array<{ feature: string; zfs: string }> = [];
  for (const [feature, state] of Object.entries(features)) {
    if (state !== "active") continue;
    const since = FEATURES_SINCE.find((r) => r.features.includes(feature));
    if (since && since.zfs > has) out.push({ feature, zfs: since.zfs });
  }
  return out;
}
