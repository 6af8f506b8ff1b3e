// The dashboard server through hono's app.request(): no sockets. Hosts are the built-in sim scenarios
// (seed guide host: seed-configured / seed-fresh; research/proxmox.md "qm set … mdev=" syntax).
import { describe, expect, it } from "vitest";
import { checkDashboardOptions, isLoopback } from "../../src/commands/dashboard.ts";
import type { Host } from "../../src/hosts/host.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { UserError } from "../../src/util/errors.ts";
import type { DashboardHostOk, DashboardPayload } from "../../src/web/api.ts";
import type { UiAssets } from "../../src/web/assets.ts";
import { createDashboardApp, redactDeep } from "../../src/web/server.ts";

/** Sim hosts by spec, each opened fresh from one shared state; records every mutating call. */
function simWorld(setup: Record<string, string[][]> = {}) {
  const hosts = new Map<string, SimHost>();
  const opened: string[] = [];
  const mutations: string[] = [];
  const scenarioOf = (spec: string) => (spec === "demo" ? "seed-configured" : spec.replace(/^sim:/, ""));
  const ready = (async () => {
    for (const [spec, cmds] of Object.entries(setup)) {
      const h = SimHost.fromState(buildScenarioState(scenarioOf(spec)), spec);
      for (const c of cmds) expect((await h.exec(c)).exitCode).toBe(0);
      hosts.set(spec, h);
    }
  })();
  const openHost = async (spec: string): Promise<Host> => {
    await ready;
    opened.push(spec);
    let h = hosts.get(spec);
    if (!h) {
      h = SimHost.fromState(buildScenarioState(scenarioOf(spec)), spec);
      hosts.set(spec, h);
    }
    const target = h;
    return new Proxy(target, {
      get(t, prop, recv) {
        const v = Reflect.get(t, prop, recv);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          if (["writeFile", "remove", "reboot", "mkdir"].includes(String(prop)))
            mutations.push(`${String(prop)} ${String(args[0])}`);
          if (prop === "exec") {
            const cmd = (args[0] as string[]).join(" ");
            if (MUTATING.test(cmd)) mutations.push(`exec ${cmd}`);
          }
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    }) as Host;
  };
  return { openHost, opened, mutations, hosts, ready };
}

/** Commands that would change a host. */
const MUTATING =
  /^(qm (set|start|stop|shutdown|reboot|destroy|create)|mdevctl (start|stop|define|undefine|modify)|modprobe|rmmod|reboot|systemctl (start|stop|restart|enable|disable|daemon-reload)|apt|dpkg -i|update-|proxmox-boot-tool (refresh|init)|nvidia-smi -)/;

const ATTACH_100 = [
  ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"],
  ["qm", "start", "100"],
];

async function getJson(app: ReturnType<typeof createDashboardApp>, path: string, init?: RequestInit) {
  const res = await app.request(path, init);
  return { res, body: (await res.json()) as DashboardPayload };
}

describe("GET /api/hosts", () => {
  it("returns each host's inspect report and doctor findings, in the order given", async () => {
    const w = simWorld({ demo: ATTACH_100 });
    const app = createDashboardApp({ hosts: ["demo", "sim:seed-fresh"], openHost: w.openHost });
    const { res, body } = await getJson(app, "/api/hosts");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(body.format).toBe("vgpuctl-dashboard/1");
    expect(body.readOnly).toBe(true);
    expect(body.hosts.map((h) => h.spec)).toEqual(["demo", "sim:seed-fresh"]);
    const demo = body.hosts[0] as DashboardHostOk;
    expect(demo.ok).toBe(true);
    expect(demo.inspect.host).toBe("seed-configured");
    expect(demo.inspect.gpus[0]!.vgpus).toEqual([
      {
        uuid: "00000000-0000-0000-0000-000000000100",
        type: "nvidia-259",
        vmid: 100,
        vramMiB: 4096,
        vramFrom: null,
      },
    ]);
    expect(Array.isArray(demo.doctor.findings)).toBe(true);
    const fresh = body.hosts[1] as DashboardHostOk;
    const codes = fresh.doctor.findings.map((f) => f.code);
    expect(codes).toEqual(expect.arrayContaining(["driver-missing", "iommu-disabled", "nouveau-loaded"]));
    expect(fresh.doctor.findings[0]!.severity).toBe("error"); // errors first
    expect(fresh.inspect.driver).toBeNull();
  });

  it("is cached: a second GET does not read the hosts again; POST /api/refresh does and sees changes", async () => {
    const w = simWorld({ demo: [] });
    const app = createDashboardApp({ hosts: ["demo"], openHost: w.openHost });
    const first = await getJson(app, "/api/hosts");
    expect((first.body.hosts[0] as DashboardHostOk).inspect.gpus[0]!.vgpus).toEqual([]);
    await getJson(app, "/api/hosts");
    expect(w.opened).toEqual(["demo"]);
    // someone starts a VM with a vGPU outside the dashboard
    for (const c of ATTACH_100) await w.hosts.get("demo")!.exec(c);
    expect(
      ((await getJson(app, "/api/hosts")).body.hosts[0] as DashboardHostOk).inspect.gpus[0]!.vgpus,
    ).toEqual([]);
    const refreshed = await getJson(app, "/api/refresh", { method: "POST" });
    expect(refreshed.res.status).toBe(200);
    expect(w.opened).toEqual(["demo", "demo"]);
    expect((refreshed.body.hosts[0] as DashboardHostOk).inspect.gpus[0]!.vgpus[0]!.vmid).toBe(100);
    // and the refreshed result is what GET serves from now on
    expect(
      ((await getJson(app, "/api/hosts")).body.hosts[0] as DashboardHostOk).inspect.gpus[0]!.vgpus,
    ).toHaveLength(1);
  });

  it("changes nothing on the hosts (only reads)", async () => {
    const w = simWorld({ demo: ATTACH_100, "sim:seed-fresh": [] });
    await w.ready;
    const before = JSON.stringify(w.hosts.get("demo")!.snapshot());
    const app = createDashboardApp({ hosts: ["demo", "sim:seed-fresh"], openHost: w.openHost });
    await getJson(app, "/api/hosts");
    await getJson(app, "/api/refresh", { method: "POST" });
    expect(w.mutations).toEqual([]);
    expect(JSON.stringify(w.hosts.get("demo")!.snapshot())).toBe(before);
  });

  it("a host that cannot be opened is reported with its error and hint; the others still show", async () => {
    const w = simWorld();
    const app = createDashboardApp({
      hosts: ["ssh://root@pve-down", "demo"],
      openHost: async (spec) => {
        if (spec.startsWith("ssh:"))
          throw new UserError("cannot connect to pve-down:22: connection refused", "check that sshd runs");
        return w.openHost(spec);
      },
    });
    const { body } = await getJson(app, "/api/hosts");
    expect(body.hosts[0]).toMatchObject({
      spec: "ssh://root@pve-down",
      ok: false,
      error: "cannot connect to pve-down:22: connection refused",
      hint: "check that sshd runs",
    });
    expect(body.hosts[1]!.ok).toBe(true);
  });

  it("puts no secrets in responses", async () => {
    const app = createDashboardApp({
      hosts: ["ssh://root@pve1"],
      openHost: async () => {
        throw new Error(
          "auth failed: Authorization: Bearer abc123secrettoken, password=hunter2, nic 3c:ec:ef:12:34:56",
        );
      },
    });
    const text = await (await app.request("/api/hosts")).text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("abc123secrettoken");
    expect(text).not.toContain("3c:ec:ef:12:34:56");
    expect(text).toContain("REDACTED");
  });

  it("redactDeep keeps structure, numbers, booleans and nulls", () => {
    expect(redactDeep({ a: [1, null, true, "token=abcdef123"], b: { c: "plain" } })).toEqual({
      a: [1, null, true, expect.stringMatching(/^token=REDACTED/)],
      b: { c: "plain" },
    });
  });
});

describe("request guards", () => {
  const app = createDashboardApp({ hosts: ["demo"], openHost: simWorld().openHost });

  it("answers only to loopback host names by default (DNS rebinding)", async () => {
    expect((await app.request("http://evil.example:8765/api/hosts")).status).toBe(421);
    expect((await app.request("http://127.0.0.1:8765/healthz")).status).toBe(200);
    expect((await app.request("http://[::1]:8765/healthz")).status).toBe(200);
    const open = createDashboardApp({ hosts: [], openHost: simWorld().openHost, allowedHostnames: null });
    expect((await open.request("http://pve-admin.lan/healthz")).status).toBe(200);
  });

  it("refuses cross-origin POSTs", async () => {
    const cross = await app.request("http://127.0.0.1:8765/api/refresh", {
      method: "POST",
      headers: { Origin: "http://evil.example" },
    });
    expect(cross.status).toBe(403);
    const nullOrigin = await app.request("http://127.0.0.1:8765/api/refresh", {
      method: "POST",
      headers: { Origin: "null" },
    });
    expect(nullOrigin.status).toBe(403);
    const same = await app.request("http://127.0.0.1:8765/api/refresh", {
      method: "POST",
      headers: { Origin: "http://127.0.0.1:8765" },
    });
    expect(same.status).toBe(200);
  });

  it("GET /api/refresh and unknown API paths are not found", async () => {
    expect((await app.request("/api/refresh")).status).toBe(404);
    expect((await app.request("/api/nope")).status).toBe(404);
  });
});

describe("the UI files", () => {
  const assets: UiAssets = {
    "/index.html": { contentType: "text/html; charset=utf-8", body: "<!doctype html><title>x</title>" },
    "/assets/index-abc.js": { contentType: "text/javascript; charset=utf-8", body: "console.log(1)" },
  };

  it("serves index.html at / with a strict CSP, and hashed assets as immutable", async () => {
    const app = createDashboardApp({ hosts: [], openHost: simWorld().openHost, assets });
    const page = await app.request("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("<title>x</title>");
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const js = await app.request("/assets/index-abc.js");
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("cache-control")).toMatch(/immutable/);
    expect((await app.request("/assets/other.js")).status).toBe(404);
    expect((await app.request("/constructor")).status).toBe(404);
  });

  it("builds lazily: the loader runs once, on the first page request; without UI, 503 with a reason", async () => {
    let calls = 0;
    const app = createDashboardApp({
      hosts: [],
      openHost: simWorld().openHost,
      assets: async () => {
        calls++;
        return assets;
      },
    });
    await app.request("/api/hosts");
    expect(calls).toBe(0);
    await app.request("/");
    await app.request("/assets/index-abc.js");
    expect(calls).toBe(1);
    const none = createDashboardApp({ hosts: [], openHost: simWorld().openHost });
    const res = await none.request("/");
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/UI is not available/);
  });
});

describe("dashboard options", () => {
  it("loopback addresses are recognised; bad ports, empty and duplicate host lists are refused", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect(isLoopback(a)).toBe(true);
    for (const a of ["0.0.0.0", "::", "192.168.1.10", "pve-admin.lan"]) expect(isLoopback(a)).toBe(false);
    expect(() => checkDashboardOptions({ hosts: ["demo"], port: 70000 })).toThrow(/--port 70000/);
    expect(() => checkDashboardOptions({ hosts: ["demo"], port: 1.5 })).toThrow(UserError);
    expect(() => checkDashboardOptions({ hosts: [], port: 0 })).toThrow(/no hosts/);
    expect(() => checkDashboardOptions({ hosts: ["demo", "demo"], port: 0 })).toThrow(/listed twice/);
    expect(() => checkDashboardOptions({ hosts: ["demo", "sim:seed-fresh"], port: 0 })).not.toThrow();
  });
});
