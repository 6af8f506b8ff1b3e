/** Shared pieces of the placement tests. */
import { expect } from "vitest";
import { parseHostpci } from "../../src/facts/system/qemu-server.ts";
import { type PlacementModel, PlacementRefusal } from "../../src/place/index.ts";

/** The refusal `fn` throws (fails the test when it returns). */
export function refusal(fn: () => unknown): PlacementRefusal {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PlacementRefusal);
    return e as PlacementRefusal;
  }
  throw new Error("expected a refusal");
}

/** A stopped VM `vmid` on i440fx (or `machine`), with a hostpci0 of `raw` when given. */
export function addVm(m: PlacementModel, vmid: number, machine: string | null = null, raw?: string): void {
  m.vms.push({
    vmid,
    name: `vm${vmid}`,
    ostype: "l26",
    machine,
    running: false,
    args: null,
    hostpci: raw ? [{ ...parseHostpci(0, raw), pending: false }] : [],
  });
}
