// The plan fixes two doctor errors itself (issue #5 follow-up): leftover PCI-passthrough config binding the
// GPU to vfio-pci (doctor vfio-bound), and IOMMU parameters in the other bootloader's file (doctor
// iommu-cmdline-wrong-bootloader), with backups, undo, and still one initramfs rebuild and one reboot.
//
// Sources of the leftover config used here:
// - community-scripts gpu-passthrough.sh (research/installers.md §5 #5 and §7 line "community-scripts/ProxmoxVE"):
//   `options vfio-pci ids=…` plus `softdep nouveau|nvidia|nvidiafb|nvidia_drm|drm pre: vfio-pci` in
//   /etc/modprobe.d/vfio.conf — the COMMUNITY text below is exactly what it writes for one GPU.
// - https://scottkey.dev/til/proxmox/pcie-passthrough-vfio: `options vfio-pci ids=10de:2204,10de:1aef` in
//   vfio.conf and `blacklist nouveau` / `blacklist nvidia` in /etc/modprobe.d/blacklist.conf.
// - https://linuxsheet.com/answers/704816/: `softdep nvidia* pre: vfio-pci` in /etc/modprobe.d/nvidia.conf.
// - `vfio-pci.ids=` on the kernel command line: research/installers.md §5 #5 ("`vfio-pci.ids=` on the cmdline").
// Hosts: sim scenarios seed-fresh / seed-configured / p4-configured (the seed guide's RTX 2080 Ti 10de:1e07
// with its audio function 10de:10f7; the Tesla P4 on systemd-boot).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyHost, type PlanDeps, planHost, uninstallHost } from "../../src/apply/run.ts";
import { runChecks } from "../../src/checks/index.ts";
import { gatherForPlan, loadDesired, selectEntries } from "../../src/commands/plan.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import { vfioIdsEdit } from "../../src/formats/bootloader/cmdline.ts";
import { editGrubCmdline, grubTokens } from "../../src/formats/bootloader/grub.ts";
import { removeVfioLeftovers } from "../../src/formats/modules/modprobe.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { type DoctorFinding, doctorBlockers } from "../../src/plan/doctor-blockers.ts";
import type { Change, Plan } from "../../src/plan/types.ts";
import { REPO } from "../helpers/cli.ts";

const COMMUNITY = [
  "options vfio-pci ids=10de:1e07",
  "softdep nouveau pre: vfio-pci",
  "softdep nvidia pre: vfio-pci",
  "softdep nvidiafb pre: vfio-pci",
  "softdep nvidia_drm pre: vfio-pci",
  "softdep drm pre: vfio-pci",
  "",
].join("\n");
const GPU_IDS = ["10de:1e07", "10de:10f7"];

describe("removeVfioLeftovers (modprobe.d)", () => {
  it("removes what community-scripts gpu-passthrough.sh writes, to an empty file", () => {
    expect(removeVfioLeftovers(COMMUNITY, GPU_IDS)).toBe("");
  });

  it("keeps the ids of other devices, and then the drm softdep that serves them", () => {
    const t =
      "# passthrough\noptions vfio-pci ids=10DE:1E07,1002:73bf,10de:10f7 disable_vga=1\nsoftdep drm pre: vfio-pci\n";
    expect(removeVfioLeftovers(t, GPU_IDS)).toBe(
      "# passthrough\noptions vfio-pci ids=1002:73bf disable_vga=1\nsoftdep drm pre: vfio-pci\n",
    );
  });

  it("drops `blacklist nvidia` but keeps `blacklist nouveau` (scottkey.dev blacklist.conf)", () => {
    expect(removeVfioLeftovers("blacklist nouveau\nblacklist nvidia\n", GPU_IDS)).toBe("blacklist nouveau\n");
  });

  it("drops `softdep nvidia* pre: vfio-pci`; leaves files without leftovers untouched", () => {
    expect(removeVfioLeftovers("softdep nvidia* pre: vfio-pci\n", GPU_IDS)).toBe("");
    const pve =
      "# This file contains a list of modules which are not supported by Proxmox VE\n\n# nvidiafb see bugreport https://bugzilla.proxmox.com/show_bug.cgi?id=701\nblacklist nvidiafb\n";
    expect(removeVfioLeftovers(pve, GPU_IDS)).toBe(pve);
    // another GPU's ids (scottkey.dev: an RTX 3090 10de:2204 and its audio 10de:1aef) stay
    const other = "options vfio-pci ids=10de:2204,10de:1aef\n";
    expect(removeVfioLeftovers(other, GPU_IDS)).toBe(other);
  });
});

describe("vfio-pci.ids= on the kernel command line", () => {
  it("takes the GPU's ids out of the token, or the token out", () => {
    expect(vfioIdsEdit(["quiet", "vfio-pci.ids=10de:1e07,10de:10f7"], GPU_IDS)).toEqual({
      add: [],
      remove: ["vfio-pci.ids=10de:1e07,10de:10f7"],
    });
    expect(vfioIdsEdit(["vfio_pci.ids=10de:1e07,8086:1c02"], GPU_IDS)).toEqual({
      add: ["vfio_pci.ids=8086:1c02"],
      remove: [],
    });
    expect(vfioIdsEdit(["quiet", "intel_iommu=on"], GPU_IDS)).toEqual({ add: [], remove: [] });
  });

  it("edits GRUB_CMDLINE_LINUX as well as _DEFAULT, keeping every other line", () => {
    const grub =
      'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"\nGRUB_CMDLINE_LINUX="vfio-pci.ids=10de:1e07,8086:1c02"\n';
    const linux = grubTokens(grub, "GRUB_CMDLINE_LINUX");
    const out = editGrubCmdline(grub, "GRUB_CMDLINE_LINUX", vfioIdsEdit(linux, GPU_IDS));
    expect(out).toBe(
      'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"\nGRUB_CMDLINE_LINUX="vfio-pci.ids=8086:1c02"\n',
    );
    expect(grubTokens(out, "GRUB_CMDLINE_LINUX_DEFAULT")).toEqual(["quiet", "intel_iommu=on"]);
  });
});

// ── on simulated hosts ──────────────────────────────────────────────────────────────────────────────

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function sim(scenario: string): Promise<SimHost> {
  const dir = await mkdtemp(join(tmpdir(), "vgpuctl-leftover-"));
  dirs.push(dir);
  return SimHost.open(scenario, { stateDir: dir, spec: `sim:${scenario}` });
}

async function entryFor(file: string, spec: string): Promise<HostEntry> {
  const [e] = selectEntries(
    await loadDesired(file, { cwd: REPO, readText: (p) => readFile(p, "utf8") }),
    spec,
  );
  return e!;
}

const deps = (host: SimHost, over: Partial<PlanDeps> = {}): PlanDeps => ({
  host,
  gather: gatherForPlan,
  doctor: (f) => runChecks(f),
  ...over,
});
const ids = (p: Plan) => p.steps.map((s) => s.id);
const step = (p: Plan, id: string) => p.steps.find((s) => s.id === id)!;
const commands = (p: Plan, id: string) =>
  step(p, id)
    .changes.filter((c): c is Extract<Change, { kind: "command" }> => c.kind === "command")
    .map((c) => c.argv.join(" "));
const allCommands = (p: Plan) => p.steps.flatMap((s) => commands(p, s.id));
const doctorCodes = async (host: SimHost, e: HostEntry) =>
  runChecks((await gatherForPlan(host, e)).facts).map((f) => `${f.severity}:${f.code}`);

/** Files as they are on the sim, without vgpuctl's own state and the logs tools append to. */
function hostFiles(host: SimHost): Record<string, string> {
  return Object.fromEntries(
    Object.entries(host.snapshot().files).filter(
      ([p]) => !p.startsWith("/var/log/") && !p.startsWith("/var/lib/vgpuctl/"),
    ),
  );
}

/** Make the leftover config take effect the way it did on the host: regenerate and reboot. */
async function bootWith(host: SimHost, files: Record<string, string>): Promise<void> {
  for (const [p, c] of Object.entries(files)) await host.writeFile(p, c);
  expect((await host.exec(["update-grub"])).exitCode).toBe(0);
  expect((await host.exec(["update-initramfs", "-u", "-k", "all"])).exitCode).toBe(0);
  await host.reboot();
}

describe("the plan removes leftover passthrough config (doctor vfio-bound)", () => {
  it("fresh host with leftover vfio.conf + vfio-pci.ids in GRUB: folded into the one update-grub, one initramfs, one reboot", async () => {
    const host = await sim("seed-fresh");
    const grub = (await host.readFile("/etc/default/grub"))!;
    await bootWith(host, {
      "/etc/modprobe.d/vfio.conf": COMMUNITY,
      "/etc/default/grub": grub.replace(
        /^GRUB_CMDLINE_LINUX_DEFAULT="([^"]*)"/m,
        'GRUB_CMDLINE_LINUX_DEFAULT="$1 vfio-pci.ids=10de:1e07,10de:10f7"',
      ),
    });
    const e = await entryFor("examples/seed-host.yaml", "sim:seed-fresh");
    expect(await doctorCodes(host, e)).toContain("error:vfio-bound");
    const before = hostFiles(host);

    const { plan } = await planHost(e, deps(host));
    expect(plan.blockers).toEqual([]);
    expect(ids(plan).slice(-5)).toEqual([
      "iommu-cmdline",
      "vfio-modules",
      "nouveau-blacklist",
      "vfio-leftover",
      "initramfs",
    ]);
    expect(plan.reboots).toBe(1);
    // the IOMMU parameters and the vfio ids are one edit of /etc/default/grub, one update-grub
    const cmd = step(plan, "iommu-cmdline");
    expect(cmd.title).toBe(
      "Add intel_iommu=on iommu=pt to GRUB_CMDLINE_LINUX_DEFAULT; take the GPU's ids out of vfio-pci.ids in GRUB_CMDLINE_LINUX_DEFAULT",
    );
    expect(cmd.fixes).toEqual(["vfio-bound", "vfio-config-leftover"]);
    const edit = cmd.changes.find((c) => c.kind === "file") as Extract<Change, { kind: "file" }>;
    expect(grubTokens(edit.after!, "GRUB_CMDLINE_LINUX_DEFAULT")).toEqual([
      "quiet",
      "intel_iommu=on",
      "iommu=pt",
    ]);
    expect(allCommands(plan).filter((c) => c === "update-grub")).toHaveLength(1);
    expect(allCommands(plan).filter((c) => c.startsWith("update-initramfs"))).toHaveLength(1);
    expect(step(plan, "vfio-leftover").changes).toMatchObject([
      { kind: "file", path: "/etc/modprobe.d/vfio.conf", after: "" },
    ]);
    expect(step(plan, "vfio-leftover").undo.regenerate).toEqual([["update-initramfs", "-u", "-k", "all"]]);

    const boots = host.snapshot().bootCount;
    const r = await applyHost(e, deps(host), { reboot: true });
    expect(r).toMatchObject({ reboots: 1, rebooted: true, verified: true });
    expect(host.snapshot().bootCount).toBe(boots + 1);
    expect(r.verification!.gpus[0]!.offered).toContain("nvidia-259 GRID RTX6000-4Q");
    expect((await doctorCodes(host, e)).filter((c) => c.startsWith("error:") || /vfio/.test(c))).toEqual([]);

    // uninstall: every file as before apply, the leftover ones byte-for-byte
    await uninstallHost(deps(host), { reboot: true });
    const after = hostFiles(host);
    expect(after["/etc/modprobe.d/vfio.conf"]).toBe(COMMUNITY);
    expect(after["/etc/default/grub"]).toBe(before["/etc/default/grub"]);
    expect(after).toEqual(before);
  });

  it("only `vfio-pci.ids=` on the command line: a vfio-cmdline step with update-grub, verified after the reboot", async () => {
    const host = await sim("seed-configured");
    const grub = (await host.readFile("/etc/default/grub"))!;
    await bootWith(host, {
      "/etc/default/grub": grub.replace(
        /^GRUB_CMDLINE_LINUX_DEFAULT="([^"]*)"/m,
        'GRUB_CMDLINE_LINUX_DEFAULT="$1 vfio-pci.ids=10de:1e07"',
      ),
    });
    const e = await entryFor("examples/seed-host.yaml", "sim:seed-configured");
    expect(await doctorCodes(host, e)).toContain("error:vfio-bound");
    const { plan } = await planHost(e, deps(host));
    expect(plan.blockers).toEqual([]);
    expect(ids(plan)).toEqual(["vfio-cmdline"]);
    expect(commands(plan, "vfio-cmdline")).toEqual(["update-grub"]);
    expect(step(plan, "vfio-cmdline").undo.regenerate).toEqual([["update-grub"]]);
    const r = await applyHost(e, deps(host), { reboot: true });
    expect(r).toMatchObject({ applied: ["vfio-cmdline"], rebooted: true, verified: true });
    await uninstallHost(deps(host), { reboot: false });
    expect(await host.readFile("/etc/default/grub")).toContain("vfio-pci.ids=10de:1e07");
  });

  it("applied without --reboot: the owed reboot fixes it, so a second apply is not refused and verifies", async () => {
    const host = await sim("vfio-leftover");
    const e = await entryFor("examples/seed-host.yaml", "sim:vfio-leftover");
    const first = await applyHost(e, deps(host), { reboot: false });
    expect(first).toMatchObject({ applied: ["vfio-leftover", "initramfs"], reboots: 1, rebooted: false });
    // the GPU is still on vfio-pci (no reboot yet): doctor still says so, the plan knows the reboot fixes it
    expect(await doctorCodes(host, e)).toContain("error:vfio-bound");
    const { plan } = await planHost(e, deps(host));
    expect(ids(plan)).toEqual(["reboot"]);
    expect(step(plan, "reboot").fixes).toEqual(["vfio-bound", "vfio-config-leftover"]);
    expect(plan.blockers).toEqual([]);
    const second = await applyHost(e, deps(host), { reboot: true });
    expect(second).toMatchObject({ applied: [], rebooted: true, verified: true });
  });

  it("an id another NVIDIA card (not set up) shares is left alone, and the binding stays a blocker", async () => {
    const host = await sim("vfio-leftover");
    const e = await entryFor("examples/seed-host.yaml", "sim:vfio-leftover");
    const gather: PlanDeps["gather"] = async (h, en) => {
      const g = await gatherForPlan(h, en);
      const gpu = g.facts.pci!.find((p) => p.address === "0000:01:00.0")!;
      g.facts.pci!.push({ ...gpu, address: "0000:02:00.0", driverInUse: "vfio-pci" });
      return g;
    };
    const { plan } = await planHost(e, deps(host, { gather }));
    expect(plan.blockers.map((b) => b.code)).toEqual(["vfio-bound"]);
    expect(plan.blockers[0]!.title).toContain("which 0000:02:00.0 (not set up here) shares");
    // the audio function's id (10de:10f7, not shared) is still taken out
    expect(step(plan, "vfio-leftover").changes).toMatchObject([
      { kind: "file", after: "options vfio-pci ids=10de:1e07 disable_vga=1\n" },
    ]);
  });

  it("doctor-blockers: a vfio-bound with no step that fixes it stays a blocker", () => {
    const finding: DoctorFinding = {
      code: "vfio-bound",
      severity: "error",
      title: "bound",
      evidence: [],
      fix: ["reboot"],
    };
    const plan: Plan = { host: "h", steps: [], reboots: 0, blockers: [], notes: [] };
    expect(doctorBlockers(plan, [finding]).map((b) => b.code)).toEqual(["vfio-bound"]);
    const fixing: Plan = {
      ...plan,
      steps: [
        {
          id: "vfio-leftover",
          title: "t",
          why: "w",
          changes: [],
          reboot: true,
          fixes: ["vfio-bound"],
          undo: { description: "", commands: [], regenerate: [] },
        },
      ],
    };
    expect(doctorBlockers(fixing, [finding])).toEqual([]);
  });
});

describe("the plan moves IOMMU parameters to the bootloader the host uses (doctor iommu-cmdline-wrong-bootloader)", () => {
  it("p4 on systemd-boot with the parameters in /etc/default/grub: moved to /etc/kernel/cmdline, one refresh", async () => {
    const host = await sim("iommu-cmdline-wrong-bootloader");
    const e = await entryFor("examples/p4-host.yaml", "sim:iommu-cmdline-wrong-bootloader");
    const before = hostFiles(host);
    const { plan } = await planHost(e, deps(host));
    expect(plan.blockers).toEqual([]);
    expect(ids(plan)).toEqual(["iommu-cmdline"]);
    const s = step(plan, "iommu-cmdline");
    expect(s.title).toBe("Move amd_iommu=on iommu=pt from /etc/default/grub to /etc/kernel/cmdline");
    expect(s.fixes).toEqual(["iommu-cmdline-wrong-bootloader"]);
    expect(s.changes).toMatchObject([
      {
        kind: "file",
        path: "/etc/kernel/cmdline",
        after: "root=ZFS=rpool/ROOT/pve-1 boot=zfs amd_iommu=on iommu=pt\n",
      },
      { kind: "file", path: "/etc/default/grub" },
      { kind: "command", argv: ["proxmox-boot-tool", "refresh"] },
    ]);
    expect(grubTokens((s.changes[1] as { after: string }).after, "GRUB_CMDLINE_LINUX_DEFAULT")).toEqual([
      "quiet",
    ]);
    const r = await applyHost(e, deps(host), { reboot: true });
    expect(r).toMatchObject({ applied: ["iommu-cmdline"], rebooted: true, verified: true });
    const f = (await gatherForPlan(host, e)).facts;
    expect(f.cmdline).toEqual(expect.arrayContaining(["amd_iommu=on", "iommu=pt"]));
    expect(runChecks(f).filter((x) => x.severity === "error")).toEqual([]);
    await uninstallHost(deps(host), { reboot: true });
    expect(hostFiles(host)).toEqual(before);
  });

  it("the reverse: a GRUB host with the parameters in /etc/kernel/cmdline gets them in GRUB_CMDLINE_LINUX_DEFAULT", async () => {
    const host = await sim("seed-fresh");
    const kernelCmdline = "root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt\n";
    await host.writeFile("/etc/kernel/cmdline", kernelCmdline);
    const e = await entryFor("examples/seed-host.yaml", "sim:seed-fresh");
    expect(await doctorCodes(host, e)).toContain("error:iommu-cmdline-wrong-bootloader");
    const { plan } = await planHost(e, deps(host));
    expect(plan.blockers).toEqual([]);
    const s = step(plan, "iommu-cmdline");
    expect(s.title).toBe(
      "Move intel_iommu=on iommu=pt from /etc/kernel/cmdline to GRUB_CMDLINE_LINUX_DEFAULT",
    );
    expect(
      s.changes.map((c) => (c.kind === "file" ? c.path : c.kind === "command" ? c.argv.join(" ") : "")),
    ).toEqual(["/etc/default/grub", "/etc/kernel/cmdline", "update-grub"]);
    expect((s.changes[1] as { after: string }).after).toBe("root=/dev/mapper/pve-root ro quiet\n");
    expect(plan.reboots).toBe(1);
    const r = await applyHost(e, deps(host), { reboot: true });
    expect(r).toMatchObject({ rebooted: true, verified: true });
    expect(await doctorCodes(host, e)).not.toContain("error:iommu-cmdline-wrong-bootloader");
    await uninstallHost(deps(host), { reboot: false });
    expect(await host.readFile("/etc/kernel/cmdline")).toBe(kernelCmdline);
  });
});
