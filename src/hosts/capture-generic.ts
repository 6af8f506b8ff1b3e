import {
  type Capture,
  type CaptureSpec,
  emptyCapture,
  formatCommand,
  MAX_FILE_BYTES,
  MDEV_TYPE_FILES,
  NVIDIA_FUNCTION_FILES,
  SYS_PCI_DEVICES,
} from "./capture.ts";
import type { Host } from "./host.ts";

/**
 * Capture through a host's primitives (exec/readFile/list). Right for hosts where each call is
 * cheap (local, sim); the ssh host uses one gather script instead.
 */
export async function captureViaPrimitives(
  host: Host,
  spec: CaptureSpec,
  hostName: string,
): Promise<Capture> {
  const cap = emptyCapture(hostName);
  for (const argv of spec.commands) {
    const r = await host.exec(argv);
    if (r.exitCode === 127) continue; // program absent: nothing to show (the fact stays unknown)
    cap.commands.push({ cmd: formatCommand(argv), stdout: r.stdout, exitCode: r.exitCode });
  }
  for (const p of spec.paths) await capturePath(host, p, cap, 0);
  if (spec.nvidiaSysfs) await captureNvidiaSysfs(host, cap);
  return cap;
}

async function capturePath(host: Host, path: string, cap: Capture, depth: number): Promise<void> {
  if (path.includes("*")) {
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    const re = new RegExp(
      `^${path
        .slice(dir.length + 1)
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replaceAll("*", ".*")}$`,
    );
    cap.capturedPaths.push(path);
    for (const name of (await host.list(dir)) ?? [])
      if (re.test(name)) await capturePath(host, `${dir}/${name}`, cap, depth + 1);
    return;
  }
  if (depth === 0) cap.capturedPaths.push(path);
  const st = await host.stat(path);
  if (!st) return;
  if (st.type === "dir") {
    if (depth > 4) return;
    for (const name of (await host.list(path)) ?? [])
      await capturePath(host, `${path}/${name}`, cap, depth + 1);
    return;
  }
  if (st.type !== "file") return;
  await captureFile(host, path, cap);
}

async function captureFile(host: Host, path: string, cap: Capture): Promise<void> {
  let content: string | null;
  try {
    content = await host.readFile(path);
  } catch (e) {
    cap.notes.push(`could not read ${path}: ${(e as Error).message}`);
    return;
  }
  if (content === null) return;
  if (content.includes("\u0000")) return; // binary: not evidence we can read
  if (content.length > MAX_FILE_BYTES) {
    cap.notes.push(`${path} truncated to ${MAX_FILE_BYTES} bytes`);
    content = content.slice(0, MAX_FILE_BYTES);
  }
  cap.files[path] = content;
}

async function captureNvidiaSysfs(host: Host, cap: Capture): Promise<void> {
  const addrs = await host.list(SYS_PCI_DEVICES);
  if (!addrs) return;
  for (const addr of addrs) {
    const dir = `${SYS_PCI_DEVICES}/${addr}`;
    const vendor = await host.readFile(`${dir}/vendor`).catch(() => null);
    if (vendor?.trim() !== "0x10de") continue;
    cap.capturedPaths.push(dir);
    for (const f of NVIDIA_FUNCTION_FILES) await captureFile(host, `${dir}/${f}`, cap);
    const types = await host.list(`${dir}/mdev_supported_types`);
    for (const t of types ?? [])
      for (const f of MDEV_TYPE_FILES) await captureFile(host, `${dir}/mdev_supported_types/${t}/${f}`, cap);
  }
}
