// biome-ignore-all lint/performance/useDomNodeTextContent: playwright Locator.innerText() is the rendered text a person sees, not the DOM property
// The built CLI serves the dashboard; headless Chromium (Debian's /usr/bin/chromium via playwright-core)
// renders it. Hosts are sim scenarios (the seed guide's host before/after the procedure, and an RTX 3080),
// with VM 100 given an RTX6000-4Q vGPU the way research/proxmox.md shows: `qm set 100 --hostpci0 …,mdev=…`.
// Everything talks to 127.0.0.1 only.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { BUNDLED_CLI, tempSimDir } from "../helpers/cli.ts";

const CHROMIUM = "/usr/bin/chromium";

async function startDashboard(args: string[], env: Record<string, string>) {
  if (!existsSync(BUNDLED_CLI)) throw new Error(`${BUNDLED_CLI} missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [BUNDLED_CLI, "dashboard", ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed in 30 s; stderr: ${stderr}`)), 30_000);
    child.stdout.on("data", (d) => {
      stdout += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dashboard exited with ${code} before printing its URL: ${stderr}`));
    });
  });
  return { child, url, output: () => ({ stdout, stderr }) };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("vgpuctl dashboard (built CLI + headless Chromium)", () => {
  const simDir = tempSimDir();
  const shotDir = mkdtempSync(join(tmpdir(), "vgpuctl-dashboard-shots-"));
  const profileDir = mkdtempSync(join(tmpdir(), "vgpuctl-chromium-"));
  let server: Awaited<ReturnType<typeof startDashboard>>;
  let browser: BrowserContext;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    // demo = seed-configured: give VM 100 an RTX6000-4Q on the 2080 Ti and start it
    const host = await SimHost.open("seed-configured", { stateDir: simDir, spec: "demo" });
    for (const argv of [
      ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"],
      ["qm", "start", "100"],
    ]) {
      const r = await host.exec(argv);
      if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    }
    await host.close();

    server = await startDashboard(
      ["--host", "demo", "--hosts", "sim:seed-fresh,sim:rtx3080", "--port", "0"],
      { VGPUCTL_SIM_DIR: simDir },
    );
    // a fresh profile (--user-data-dir) per run
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 1400 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on("request", (r) => requested.push(r.url()));
    await page.goto(server.url);
    await page
      .locator('section[data-host="demo"] article[data-gpu="0000:01:00.0"]')
      .waitFor({ timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await stop(server.child);
    for (const d of [shotDir, profileDir, simDir]) rmSync(d, { recursive: true, force: true });
  });

  it("prints its URL on 127.0.0.1 and serves the page", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.output().stdout).toContain("demo, sim:seed-fresh, sim:rtx3080");
  });

  it("shows the configured host's status line and its GPU card", async () => {
    const host = page.locator('section[data-host="demo"]');
    await expect(host.getByRole("heading", { level: 2 }).textContent()).resolves.toContain("seed-configured");
    const status = await host.locator(".status-line").innerText();
    expect(status).toMatch(/Proxmox VE:?\s*7\.4/);
    expect(status).toMatch(/NVIDIA driver:?\s*525\.85\.07 \(vGPU 15\.1\)/);
    expect(status).toMatch(/vgpu_unlock:?\s*enabled/);
    expect(status).toMatch(/IOMMU:?\s*enabled/);
    const gpu = host.locator('article[data-gpu="0000:01:00.0"]');
    expect(await gpu.getByRole("heading", { level: 3 }).innerText()).toContain("0000:01:00.0");
    expect(await gpu.locator(".badge").innerText()).toContain("vGPU via vgpu_unlock");
  });

  it("draws the split: VM 100's RTX6000-4Q segment, free capacity, the type in use", async () => {
    const gpu = page.locator('section[data-host="demo"] article[data-gpu="0000:01:00.0"]');
    const seg = gpu.locator('.seg[data-vmid="100"]');
    await expect(seg.innerText()).resolves.toMatch(/VM 100 \(win11\) · RTX6000-4Q · 4 GiB/);
    expect(await seg.getAttribute("data-type")).toBe("nvidia-259");
    const bar = gpu.getByRole("img");
    const label = await bar.getAttribute("aria-label");
    expect(label).toContain("VM 100 (win11) · RTX6000-4Q · 4 GiB");
    expect(label).toContain("free 7 GiB");
    expect(await gpu.locator(".bar .seg-free").innerText()).toContain("free 7 GiB");
    // the segment is drawn to scale: 4 of 11 GiB
    const [segBox, barBox] = [await seg.boundingBox(), await bar.boundingBox()];
    expect(segBox!.width / barBox!.width).toBeGreaterThan(0.3);
    expect(segBox!.width / barBox!.width).toBeLessThan(0.42);
    const typeLine = await gpu.locator(".type-line").innerText();
    expect(typeLine).toContain("RTX6000-4Q (nvidia-259)");
    expect(typeLine).toMatch(/5 more instances available \(max 6\)/);
    // text alternative without colour: the legend lists the same
    expect(await gpu.locator(".legend").innerText()).toMatch(
      /VM 100 \(win11\) · RTX6000-4Q · 4 GiB \(running\)/,
    );
  });

  it("has a findings section for every host", async () => {
    for (const spec of ["demo", "sim:seed-fresh", "sim:rtx3080"]) {
      const findings = page.locator(`section[data-host="${spec}"] section.findings`);
      await expect(findings.getByRole("heading").first().innerText()).resolves.toMatch(/^Findings \(\d+\)/);
    }
  });

  it("the fresh host shows its problems and 'driver not installed'", async () => {
    const host = page.locator('section[data-host="sim:seed-fresh"]');
    for (const code of ["driver-missing", "iommu-disabled", "nouveau-loaded"])
      await expect(host.locator(`li.finding[data-code="${code}"]`).count()).resolves.toBe(1);
    const first = host.locator("li.finding").first();
    expect(await first.locator(".sev").innerText()).toMatch(/error/i);
    expect(await host.locator(".status-line").innerText()).toMatch(/NVIDIA driver:?\s*not installed/);
    expect(await host.locator('article[data-gpu="0000:01:00.0"]').innerText()).toMatch(
      /Driver not installed/,
    );
    expect(await host.locator("h2 .tag").innerText()).toMatch(/\d+ errors?/);
  });

  it("the RTX 3080 host says the card is unsupported, and why", async () => {
    const gpu = page.locator('section[data-host="sim:rtx3080"] article[data-gpu]').first();
    expect(await gpu.locator(".badge").innerText()).toMatch(/unsupported/);
    expect(await gpu.innerText()).toMatch(/cannot be split into vGPUs.*Ampere/is);
  });

  it("refreshes on request and keeps everything on 127.0.0.1", async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /^Updated/ })
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('.seg[data-vmid="100"]').count()).toBe(1);
    const origin = new URL(server.url).origin;
    expect(requested.length).toBeGreaterThan(2);
    for (const u of requested) expect(u.startsWith(`${origin}/`)).toBe(true);
  });

  it("takes a screenshot", async () => {
    const file = join(shotDir, "dashboard.png");
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  });

  it("stops cleanly on SIGTERM", async () => {
    expect(await stop(server.child)).toBe(0);
  });
});
