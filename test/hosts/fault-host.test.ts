// The one fault mechanism (src/hosts/fault-host.ts): a Host decorator that makes the client die or an
// operation fail at a chosen write/exec. Here over the simulated host, whose state shows what the host
// kept; the apply tests (test/apply/apply.test.ts, test/e2e/apply.test.ts) use it for whole runs.
import { describe, expect, it } from "vitest";
import {
  FaultHost,
  faultProgram,
  HostDied,
  hasClientFaults,
  InjectedFailure,
  parseClientFaults,
  triggerFor,
} from "../../src/hosts/fault-host.ts";
import { openHost } from "../../src/hosts/open.ts";
import { SimHost, setScenarioFaults } from "../../src/hosts/sim/sim-host.ts";
import { tempStateDir } from "../sim/helpers.ts";

const JOURNAL = "/var/lib/vgpuctl/journal.json";
const journal = (inProgress: boolean) => JSON.stringify({ inProgress: inProgress ? { step: {} } : null });

async function sim(dir: string): Promise<SimHost> {
  return SimHost.open("seed-fresh", { stateDir: dir, spec: "sim:seed-fresh", faults: [] });
}

function faulty(host: SimHost, ...specs: string[]): FaultHost {
  return new FaultHost(host, triggerFor(parseClientFaults(specs).faults), { die: "throw" });
}

describe("parseClientFaults", () => {
  it("takes the client's specs and leaves the host's (and unreadable ones) to the simulator", () => {
    const { faults, rest } = parseClientFaults([
      "crash-after:3, fail:apt-get:2",
      "crash-before:update-grub drop-connection:4",
      "crash-after-write:7",
      "crash-after-exec:2",
      "fail-write:5",
      "fail-exec:1",
      "crash-after:x",
      "crash-after:0",
    ]);
    expect(faults).toEqual({
      crashAfterStep: 3,
      crashBefore: ["update-grub"],
      crashAfterWrite: 7,
      crashAfterExec: 2,
      failWrite: 5,
      failExec: 1,
    });
    expect(rest).toEqual(["fail:apt-get:2", "drop-connection:4", "crash-after:x", "crash-after:0"]);
    expect(hasClientFaults(parseClientFaults(["fail:apt-get"]).faults)).toBe(false);
  });

  it("PROG names a program by base name, through env, and the NVIDIA installer by its .run", () => {
    expect(faultProgram(["/usr/sbin/update-grub"])).toBe("update-grub");
    expect(faultProgram(["env", "-C", "/opt/v", "CARGO_HOME=/root/.cargo", "cargo", "build"])).toBe("cargo");
    expect(faultProgram(["sh", "/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run", "--dkms"])).toBe(
      "nvidia-installer",
    );
    expect(
      faultProgram(["sh", "/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run", "--apply-patch", "p"]),
    ).toBe("sh");
  });
});

describe("FaultHost", () => {
  it("crash-after:N dies right after the journal write that completes the Nth step; the host keeps that write; a dead run reaches the host no more", async () => {
    const dir = await tempStateDir();
    const h = faulty(await sim(dir), "crash-after:2");
    await h.writeFile(JOURNAL, journal(true));
    await h.writeFile(JOURNAL, journal(false)); // step 1 done
    await h.writeFile(JOURNAL, journal(false)); // a rewrite with no step open: not a completion
    await h.writeFile(JOURNAL, journal(true));
    await h.writeFile("/etc/modules", "vfio\n");
    await expect(h.writeFile(JOURNAL, journal(false))).rejects.toBeInstanceOf(HostDied);
    await expect(h.writeFile("/etc/modules", "other\n")).rejects.toBeInstanceOf(HostDied);
    await expect(h.readFile(JOURNAL)).rejects.toBeInstanceOf(HostDied);
    const after = await sim(dir);
    expect(await after.readFile(JOURNAL)).toBe(journal(false));
    expect(await after.readFile("/etc/modules")).toBe("vfio\n");
  });

  it("crash-before:PROG dies before PROG runs: the file edit before it is kept, the program's effect is not", async () => {
    const dir = await tempStateDir();
    const h = faulty(await sim(dir), "crash-before:update-grub");
    await h.writeFile("/etc/default/grub", 'GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"\n');
    expect((await h.exec(["uname", "-r"])).exitCode).toBe(0);
    await expect(h.exec(["/usr/sbin/update-grub"])).rejects.toBeInstanceOf(HostDied);
    const after = await sim(dir);
    expect(await after.readFile("/etc/default/grub")).toContain("iommu=pt");
    expect(after.snapshot().boot.nextCmdline).not.toContain("iommu=pt");
  });

  it("counts writes (writeFile, createExclusive, remove) and execs: crash-after-write / crash-after-exec / fail-write / fail-exec", async () => {
    const dir = await tempStateDir();
    const w = faulty(await sim(dir), "crash-after-write:3");
    await w.writeFile("/root/a", "1");
    expect(await w.createExclusive!("/root/b", "2")).toBe(true);
    await expect(w.remove("/root/a")).rejects.toBeInstanceOf(HostDied);
    expect(await (await sim(dir)).readFile("/root/a")).toBeNull(); // the 3rd write happened, then the death

    const e = faulty(await sim(dir), "crash-after-exec:2");
    await e.exec(["true"]);
    await expect(e.exec(["touch", "/root/c"])).rejects.toBeInstanceOf(HostDied);
    expect(await (await sim(dir)).readFile("/root/c")).toBe("");

    const f = faulty(await sim(dir), "fail-write:2", "fail-exec:1");
    await f.writeFile("/root/d", "1");
    await expect(f.writeFile("/root/e", "2")).rejects.toBeInstanceOf(InjectedFailure);
    expect(await f.readFile("/root/e")).toBeNull(); // a failed write writes nothing; the host still answers
    expect(await f.exec(["touch", "/root/f"])).toMatchObject({ exitCode: 1 });
    expect(await f.readFile("/root/f")).toBeNull();
    expect((await f.exec(["touch", "/root/f"])).exitCode).toBe(0);
  });

  it("passes the wrapped host's identity and capabilities through (batches: an ssh host's)", async () => {
    const inner = await sim(await tempStateDir());
    const h = faulty(inner, "crash-after:1");
    expect([h.kind, h.spec, h.name, h.readOnly, h.batches]).toEqual([
      "sim",
      "sim:seed-fresh",
      "seed-fresh",
      false,
      undefined,
    ]);
    const remote = new FaultHost({ ...stubHost(), batches: true }, {});
    expect(remote.batches).toBe(true);
  });
});

function stubHost() {
  return {
    kind: "ssh" as const,
    spec: "ssh://x",
    name: "x",
    readOnly: false,
    exec: async () => ({ stdout: "", stderr: "", exitCode: 0 }),
    readFile: async () => null,
    writeFile: async () => {},
    list: async () => null,
    stat: async () => null,
    remove: async () => {},
    reboot: async () => {},
    capture: async () => {
      throw new Error("not used");
    },
    close: async () => {},
  };
}

describe("openHost applies a simulated host's client faults (VGPUCTL_SIM_FAULT, `vgpuctl sim fault`)", () => {
  it("wraps the sim in a FaultHost only when a client fault is set, from the env or the state", async () => {
    const dir = await tempStateDir();
    expect(await openHost("sim:seed-fresh", { env: { VGPUCTL_SIM_DIR: dir } })).toBeInstanceOf(SimHost);
    expect(
      await openHost("sim:seed-fresh", { env: { VGPUCTL_SIM_DIR: dir, VGPUCTL_SIM_FAULT: "fail:apt-get" } }),
    ).toBeInstanceOf(SimHost);
    expect(
      await openHost("sim:seed-fresh", { env: { VGPUCTL_SIM_DIR: dir, VGPUCTL_SIM_FAULT: "crash-after:2" } }),
    ).toBeInstanceOf(FaultHost);
    await setScenarioFaults(dir, "seed-fresh", ["crash-before:update-grub"]);
    expect(await openHost("sim:seed-fresh", { env: { VGPUCTL_SIM_DIR: dir } })).toBeInstanceOf(FaultHost);
    await expect(setScenarioFaults(dir, "seed-fresh", ["crash-after:soon"])).rejects.toThrow(
      'unknown fault "crash-after:soon"',
    );
  });
});
