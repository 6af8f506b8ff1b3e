// gatherHost is the dashboard's per-host error boundary: a host that fails is shown as failed with
// the reason. A bug is marked as an internal error, and a host whose connection cannot be closed is not
// shown as healthy. Host: the simulated seed-configured host (seed guide host, DESIGN.md scenario).
import { describe, expect, it } from "vitest";
import type { Host } from "../../src/hosts/host.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { UserError } from "../../src/util/errors.ts";
import { gatherHost } from "../../src/web/server.ts";

const NOW = () => new Date("2026-12-03T12:00:00Z");

/** The seed-configured sim host whose close() fails with `error`. */
function closingFails(error: Error): Host {
  const h = SimHost.fromState(buildScenarioState("seed-configured"), "demo");
  return new Proxy(h, {
    get(t, prop, recv) {
      if (prop === "close") return async () => Promise.reject(error);
      const v = Reflect.get(t, prop, recv);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

describe("gatherHost", () => {
  it("a host read well whose close() fails is shown as failed with the reason, not as healthy", async () => {
    const r = await gatherHost("demo", async () =>
      closingFails(new UserError("ssh to pve1:22: socket hang up", "check the network")),
    );
    expect(r).toMatchObject({
      spec: "demo",
      ok: false,
      error: "closing the connection failed: ssh to pve1:22: socket hang up",
      hint: "check the network",
    });
  });

  it("after a failed read, that failure is shown (a close failure then is secondary)", async () => {
    const host = closingFails(new UserError("close failed too"));
    const r = await gatherHost(
      "demo",
      async () =>
        new Proxy(host, {
          get: (t, p, rv) =>
            p === "capture"
              ? async () => Promise.reject(new UserError("capture failed: EIO"))
              : Reflect.get(t, p, rv),
        }),
      NOW,
    );
    expect(r).toEqual({
      spec: "demo",
      ok: false,
      error: "capture failed: EIO",
      hint: null,
      gatheredAt: NOW().toISOString(),
    });
  });

  it("a bug (not a UserError) is marked as an internal error", async () => {
    const r = await gatherHost("demo", async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'gpus')");
    });
    expect(r).toMatchObject({
      ok: false,
      error: "internal error (please report it): Cannot read properties of undefined (reading 'gpus')",
    });
  });

  it("a host read and closed well is ok", async () => {
    const r = await gatherHost("demo", async () =>
      SimHost.fromState(buildScenarioState("seed-configured"), "demo"),
    );
    expect(r.ok).toBe(true);
  });
});
