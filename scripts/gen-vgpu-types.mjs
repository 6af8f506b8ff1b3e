#!/usr/bin/env node
// Generates src/knowledge/vgpu-types.generated.ts from src/knowledge/data/vgpu-types.csv
// (NVIDIA vgpuConfig.xml of a 16.x/17.x host driver) and src/knowledge/data/vgpu-types-blackwell.csv
// (types of boards newer than that XML, from real `nvidia-smi vgpu -s -v` output; only id, name, class,
// board, size and max instances are known for them). Sources: src/knowledge/data/SOURCES.md.
//   node scripts/gen-vgpu-types.mjs          write the file
//   node scripts/gen-vgpu-types.mjs --check  exit 1 when the file is not current
// test/knowledge/vgpu-types.test.ts fails when the generated file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CSV_PATH = join(ROOT, "src/knowledge/data/vgpu-types.csv");
export const NEWER_CSV_PATH = join(ROOT, "src/knowledge/data/vgpu-types-blackwell.csv");
export const OUT_PATH = join(ROOT, "src/knowledge/vgpu-types.generated.ts");

const COLUMNS = [
  "id",
  "mdev_type",
  "name",
  "class",
  "devId",
  "subsysId",
  "profileSize",
  "framebuffer",
  "fbReservation",
  "gspHeapSize",
  "numHeads",
  "maxResX",
  "maxResY",
  "maxPixels",
  "frlConfig",
  "frame_rate_limiter",
  "cudaEnabled",
  "eccSupported",
  "multiVgpuSupported",
  "mappableVideoSize",
  "encoderCapacity",
  "bar1Length",
  "license",
  "pgpu_maxInstances",
];

/** "0x1A000000" or "16" → number; "" → null. Throws on anything else. */
function num(value, where) {
  if (value === "") return null;
  const n = /^0x[0-9a-f]+$/i.test(value)
    ? Number.parseInt(value, 16)
    : /^\d+$/.test(value)
      ? Number(value)
      : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${where}: not a number: ${JSON.stringify(value)}`);
  return n;
}

function hex4(value, where) {
  const n = num(value, where);
  if (n === null || n > 0xffff) throw new Error(`${where}: not a 16-bit id: ${JSON.stringify(value)}`);
  return n.toString(16).padStart(4, "0");
}

/** Parse the CSV (no quoting is used in it) into normalised rows, sorted by type id. */
export function parseCsv(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines.shift()?.split(",") ?? [];
  if (header.join(",") !== COLUMNS.join(",")) throw new Error(`unexpected CSV header: ${header.join(",")}`);
  const rows = lines.map((line, i) => {
    const f = line.split(",");
    const where = `vgpu-types.csv line ${i + 2}`;
    if (f.length !== COLUMNS.length)
      throw new Error(`${where}: ${f.length} fields, expected ${COLUMNS.length}`);
    const c = Object.fromEntries(COLUMNS.map((k, j) => [k, f[j]]));
    const id = num(c.id, where);
    if (c.mdev_type !== `nvidia-${id}`)
      throw new Error(`${where}: mdev_type ${c.mdev_type} does not match id ${id}`);
    const pg = /^(0x[0-9a-f]+)\/(0x[0-9a-f]+):(\d+)$/i.exec(c.pgpu_maxInstances);
    if (!pg) throw new Error(`${where}: bad pgpu_maxInstances ${c.pgpu_maxInstances}`);
    const profileBytes = num(c.profileSize, where);
    if (profileBytes % (1024 * 1024) !== 0) throw new Error(`${where}: profile size is not whole MiB`);
    return {
      id,
      type: c.mdev_type,
      name: c.name,
      vgpuClass: c.class,
      vdevId: hex4(c.devId, where),
      vdevSubsystemId: hex4(c.subsysId, where),
      profileBytes,
      profileMiB: profileBytes / (1024 * 1024),
      framebufferBytes: num(c.framebuffer, where),
      reservationBytes: num(c.fbReservation, where),
      gspHeapBytes: num(c.gspHeapSize, where),
      numHeads: num(c.numHeads, where),
      maxResolution: `${num(c.maxResX, where)}x${num(c.maxResY, where)}`,
      maxPixels: num(c.maxPixels, where),
      frlFps: num(c.frlConfig, where),
      frameRateLimiter: num(c.frame_rate_limiter, where) === 1,
      cuda: num(c.cudaEnabled, where) === 1,
      ecc: num(c.eccSupported, where) === 1,
      multiVgpu: num(c.multiVgpuSupported, where) === 1,
      mappableVideoBytes: num(c.mappableVideoSize, where),
      encoderCapacity: num(c.encoderCapacity, where),
      bar1Length: num(c.bar1Length, where),
      licenses: c.license.split(";").filter(Boolean),
      pgpu: { deviceId: hex4(pg[1], where), subsystemId: hex4(pg[2], where) },
      maxInstances: Number(pg[3]),
    };
  });
  rows.sort((a, b) => a.id - b.id);
  const seen = new Set();
  for (const r of rows) {
    if (seen.has(r.id)) throw new Error(`duplicate vGPU type id ${r.id}`);
    seen.add(r.id);
  }
  return rows;
}

const NEWER_COLUMNS = [
  "id",
  "mdev_type",
  "name",
  "class",
  "pgpu_deviceId",
  "pgpu_subsysId",
  "profileMiB",
  "maxInstances",
];

/**
 * Rows of the newer-boards CSV: what `nvidia-smi vgpu -s -v` prints (type id, name, class, FB memory, max
 * instances) for the board named in the row. Fields the XML would add are null / empty; `partial: true` says so.
 */
export function parseNewerCsv(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines.shift()?.split(",") ?? [];
  if (header.join(",") !== NEWER_COLUMNS.join(","))
    throw new Error(`unexpected CSV header: ${header.join(",")}`);
  return lines.map((line, i) => {
    const f = line.split(",");
    const where = `vgpu-types-blackwell.csv line ${i + 2}`;
    if (f.length !== NEWER_COLUMNS.length)
      throw new Error(`${where}: ${f.length} fields, expected ${NEWER_COLUMNS.length}`);
    const c = Object.fromEntries(NEWER_COLUMNS.map((k, j) => [k, f[j]]));
    const id = num(c.id, where);
    if (c.mdev_type !== `nvidia-${id}`)
      throw new Error(`${where}: mdev_type ${c.mdev_type} does not match id ${id}`);
    const profileMiB = num(c.profileMiB, where);
    return {
      id,
      type: c.mdev_type,
      name: c.name,
      vgpuClass: c.class,
      vdevId: "",
      vdevSubsystemId: "",
      profileBytes: profileMiB * 1024 * 1024,
      profileMiB,
      framebufferBytes: null,
      reservationBytes: null,
      gspHeapBytes: null,
      numHeads: null,
      maxResolution: "",
      maxPixels: null,
      frlFps: null,
      frameRateLimiter: false,
      cuda: false,
      ecc: false,
      multiVgpu: false,
      mappableVideoBytes: null,
      encoderCapacity: null,
      bar1Length: null,
      licenses: [],
      pgpu: { deviceId: hex4(c.pgpu_deviceId, where), subsystemId: hex4(c.pgpu_subsysId, where) },
      maxInstances: num(c.maxInstances, where),
      partial: true,
    };
  });
}

/** The full text of src/knowledge/vgpu-types.generated.ts for the two CSVs. */
export function renderGenerated(csvText, newerCsvText) {
  const rows = [...parseCsv(csvText), ...parseNewerCsv(newerCsvText)].sort((a, b) => a.id - b.id);
  const ids = new Set();
  for (const r of rows) {
    if (ids.has(r.id)) throw new Error(`duplicate vGPU type id ${r.id}`);
    ids.add(r.id);
  }
  const out = [
    "// GENERATED by scripts/gen-vgpu-types.mjs from src/knowledge/data/vgpu-types.csv and",
    "// vgpu-types-blackwell.csv — do not edit by hand.",
    "// Sources: NVIDIA vgpuConfig.xml shipped with a 16.x/17.x vGPU host driver; nvidia-smi vgpu -s -v of newer",
    "// boards (partial rows). See src/knowledge/data/SOURCES.md.",
    `// ${rows.length} vGPU types, sorted by id.`,
    'import type { VgpuTypeRow } from "./vgpu-types.ts";',
    "",
    "// biome-ignore format: generated data, one type per line",
    "export const VGPU_TYPES_DATA: readonly VgpuTypeRow[] = [",
    ...rows.map((r) => `${JSON.stringify(r)},`),
    "];",
    "",
  ];
  return out.join("\n");
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const text = renderGenerated(readFileSync(CSV_PATH, "utf8"), readFileSync(NEWER_CSV_PATH, "utf8"));
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(OUT_PATH, "utf8");
    } catch {}
    if (current !== text) {
      console.error(`${OUT_PATH} is stale: run node scripts/gen-vgpu-types.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(OUT_PATH, text);
    console.log(`wrote ${OUT_PATH}`);
  }
}
