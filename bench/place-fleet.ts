/**
 * `npx tsx bench/place-fleet.ts`: only the placement and fleet benchmarks (bench/placement.ts,
 * bench/fleet.ts), merged into bench/results.json under "placement" and "fleet" (`npm run bench` runs
 * them too, with everything else). `npx tsx bench/place-fleet.ts fleet` runs the fleet part alone and
 * replaces only "fleet".
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startSshd } from "../test/helpers/sshd.ts";
import { cliFleetRows } from "./cli-fleet.ts";
import { benchFleet, type FleetRow, formatFleet } from "./fleet.ts";
import { benchPlacement, formatPlacement } from "./placement.ts";

const RESULTS = join(resolve(import.meta.dirname), "results.json");
const fleetOnly = process.argv[2] === "fleet";

const placement = fleetOnly ? null : await benchPlacement();
if (placement) for (const l of formatPlacement(placement)) console.log(l);
const sshd = await startSshd().catch((e: Error) => {
  console.log(`no sshd (${e.message}): the SSH fleet is left out`);
  return null;
});
let fleet: FleetRow[];
try {
  fleet = await benchFleet(sshd);
} finally {
  await sshd?.stop();
}
fleet.push(...cliFleetRows());
console.log("\nfleet:");
for (const l of formatFleet(fleet)) console.log(l);
const old = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, "utf8")) : {};
const fresh = placement ? { placementDate: new Date().toISOString(), placement, fleet } : { fleet };
writeFileSync(RESULTS, `${JSON.stringify({ ...old, ...fresh }, null, 2)}\n`);
console.log(`\nwritten: bench/results.json (${placement ? "placement, fleet" : "fleet"})`);
