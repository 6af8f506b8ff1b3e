/**
 * Conformance: for each output kind, real samples (test/fixtures/conformance, sources in SOURCES.md) and
 * the simulator's render of comparable hardware and driver era compared structurally — field paths,
 * table widths and cell borders, column titles, line shapes. A difference fails unless it is listed in
 * the case's `allowed` with its reason; an allowance that no longer matches a difference fails too.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { simHost, simOutput } from "./render.ts";
import { differences, keyPaths, preambleKeys, tableShape } from "./shape.ts";

const sample = (name: string) =>
  readFileSync(new URL(`../fixtures/conformance/${name}`, import.meta.url), "utf8");

const GPU_LINE = /^GPU [0-9A-Fa-f]{8}:/;
const VGPU_LINE = /^ {4}vGPU ID\s+:/;
const VGPU_END = /^ {4}vGPU ID\s+:|^GPU [0-9A-Fa-f]{8}:/;

const at = (version: string) => (s: { driver: { version: string } | null }) => {
  s.driver!.version = version;
};

function expectSame(real: string[], sim: string[], allowed: Record<string, string> = {}) {
  expect(differences(real, sim, allowed)).toEqual({ onlyReal: [], onlySim: [], staleAllowances: [] });
}

/** Every path of a real excerpt (a paste cut short or grepped) exists in the simulator's render. */
function expectCovered(realExcerpt: string[], sim: string[], allowed: Record<string, string> = {}) {
  expect(differences(realExcerpt, sim, allowed).onlyReal).toEqual([]);
}

describe("nvidia-smi -q", () => {
  it("535: a Tesla P40's full report vs the simulated Tesla P4 (Pascal) on 535.129.03", async () => {
    const real = sample("p40-535-nvidia-smi-q.txt");
    const sim = await simOutput(await simHost("p4-configured", at("535.129.03")), "nvidia-smi -q");
    expectSame(preambleKeys(real), preambleKeys(sim));
    expectSame(keyPaths(real, GPU_LINE), keyPaths(sim, GPU_LINE));
    expect(sim.split("\n").length).toBeGreaterThan(200);
  });

  it("525: the Ada excerpt of akb486/vgpu (grepped) is covered by the simulated 525 host", async () => {
    const sim = await simOutput(await simHost("seed-configured"), "nvidia-smi -q");
    expectCovered(keyPaths(sample("ada-525-nvidia-smi-q.txt"), GPU_LINE), keyPaths(sim, GPU_LINE));
  });

  it("580: the RTX PRO 6000 excerpt of cubecos is covered by the simulated A16 on 580.105.06", async () => {
    const sim = await simOutput(await simHost("a16-configured", at("580.105.06")), "nvidia-smi -q");
    const real = sample("rtxpro6000-580-nvidia-smi-q.txt");
    expectCovered(preambleKeys(real), preambleKeys(sim));
    expectCovered(keyPaths(real, GPU_LINE), keyPaths(sim, GPU_LINE));
  });
});

describe("nvidia-smi vgpu -q", () => {
  it("525 on Proxmox VE: one mdev vGPU, same fields as akb486/vgpu's paste", async () => {
    const h = await simHost("seed-configured");
    const sim = await simOutput(
      h,
      "qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-257",
      "qm start 100",
      "nvidia-smi vgpu -q",
    );
    const real = sample("ada-525-nvidia-smi-vgpu-q.txt");
    expect(sim.split("\n")[0]).toMatch(GPU_LINE); // no NVSMI LOG header, like the real one
    expectSame(keyPaths(real, GPU_LINE, /^$^/), keyPaths(sim, GPU_LINE, /^$^/));
    expectSame(keyPaths(real, VGPU_LINE, VGPU_END), keyPaths(sim, VGPU_LINE, VGPU_END));
  });

  it("580: a vGPU on an SR-IOV VF, same fields as cubecos's (OpenStack) capture", async () => {
    const h = await simHost("a16-configured", at("580.105.06"));
    const sim = await simOutput(
      h,
      "qm set 100 --hostpci0 0000:41:00.4,mdev=nvidia-713",
      "qm start 100",
      "nvidia-smi vgpu -q",
    );
    const real = sample("rtxpro6000-580-nvidia-smi-vgpu-q.txt");
    expectSame(keyPaths(real, VGPU_LINE, VGPU_END), keyPaths(sim, VGPU_LINE, VGPU_END));
  });
});

describe("nvidia-smi (table)", () => {
  const cases: Array<[string, string, string, string]> = [
    ["≤ 525 (460.32.04 Quadro P400)", "p400-460-nvidia-smi.txt", "seed-configured", "525.85.07"],
    ["535 (535.230.02 GTX 1080)", "gtx1080-535-nvidia-smi.txt", "p4-configured", "535.230.02"],
    ["550+ (550.120)", "gpu-550-nvidia-smi.txt", "a16-configured", "550.127.06"],
  ];
  for (const [era, file, scenario, version] of cases) {
    it(`${era}: width, cell borders and column titles`, async () => {
      const real = tableShape(sample(file));
      const sim = tableShape(await simOutput(await simHost(scenario, at(version)), "nvidia-smi"));
      expect(sim.widths).toEqual(real.widths);
      expect(sim.borders).toEqual(real.borders);
      expect(sim.titles).toEqual(real.titles);
      // the shorter pastes end before the Processes box
      if (real.processTitles.length) expect(sim.processTitles).toEqual(real.processTitles);
    });
  }
});

describe("mdevctl", () => {
  /** "  nvidia-156" / "    Available instances: 12" → indentation + property name of each line. */
  const typeLines = (text: string) =>
    text
      .split("\n")
      .filter((l) => /^ {2,4}\S/.test(l))
      .map((l) => l.replace(/^( +)(nvidia-\d+|[A-Za-z ]+?:).*$/, "$1$2").replace(/nvidia-\d+/, "nvidia-N"));

  it("types: the P40 host's (mdevctl#115) blocks vs the simulated host's", async () => {
    const sim = await simOutput(await simHost("p4-configured"), "mdevctl types");
    const real = sample("p40-mdevctl-types.txt");
    expect([...new Set(typeLines(sim))]).toEqual([...new Set(typeLines(real))]);
    expect(sim.split("\n")[0]).toMatch(/^0000:[0-9a-f]{2}:00\.0$/);
  });

  it("list (1.x): four columns, 'manual' for a transient mdev (mdevctl's own test data)", async () => {
    const h = await simHost("p4-configured", (s) => {
      s.vms.push({
        vmid: 100,
        running: false,
        config: { name: "t", memory: "4096" },
        pending: {},
        pendingDelete: [],
      });
    });
    const sim = await simOutput(
      h,
      "qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-64",
      "qm start 100",
      "mdevctl list",
    );
    const shape = (l: string) =>
      l
        .trim()
        .split(/\s+/)
        .map((c, i) => (i < 3 ? "x" : c));
    expect(sim.trim().split("\n").map(shape)).toEqual([shape(sample("mdevctl-1x-list-active.txt"))]);
  });
});

describe("sysfs nvidia/creatable_vgpu_types", () => {
  it("header line and 'ID    : name' rows as harvester quotes the L40S's", async () => {
    const h = await simHost("a16-configured");
    const sim = (await h.readFile("/sys/bus/pci/devices/0000:41:00.4/nvidia/creatable_vgpu_types")) ?? "";
    const real = sample("l40s-creatable-vgpu-types.txt");
    expect(sim.split("\n")[0]).toBe(real.split("\n")[0]);
    // rows: the id left-aligned in six columns, then ": ", then the type name
    const rowShape = (t: string) =>
      new Set(
        t
          .trimEnd()
          .split("\n")
          .slice(1)
          .map((l) => `${l.indexOf(": ")}:${/^\d+ *: NVIDIA \S+$/.test(l)}`),
      );
    expect(rowShape(sim)).toEqual(rowShape(real));
  });
});
