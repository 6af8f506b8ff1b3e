/**
 * Proxmox VE task logs as the real host writes them. Name: pve-common src/PVE/UPID.pm encode
 * ("UPID:%s:%08X:%08X:%08X:%s:%s:%s:" of node, pid, pstart, starttime, type, id, user), file
 * /var/log/pve/tasks/<last hex digit of the start time>/<UPID> (decode: substr($5, 7, 8)). Content: what
 * the worker printed, then its end line (pve-common src/PVE/RESTEnvironment.pm: "TASK ERROR: $err" /
 * "TASK OK"); qemu-server's vm_start runs as a 'qmstart' worker with the VM id as task id, and its die
 * message ("start failed: QEMU exited with code 1", "could not create mediated device") is the error.
 */
import type { SimState } from "../state.ts";

export const TASK_DIR = "/var/log/pve/tasks";

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

/** The UPID of the simulator's next task: deterministic (pid and start time count up per task). */
export function nextUpid(s: SimState, type: string, id: string): string {
  const n = Object.keys(s.files).filter((p) => p.startsWith(`${TASK_DIR}/`)).length;
  const start = Math.floor(Date.parse(s.clock) / 1000) + 60 + n * 7;
  return `UPID:${s.hostname}:${hex8(0x1a2b0 + n * 17)}:${hex8(0x5f3e1 + n * 300)}:${hex8(start)}:${type}:${id}:root@pam:`;
}

/** Path and content of the task log of a `qm start` that failed with `error` (the lines qm printed). */
export function qmstartFailedTaskLog(
  s: SimState,
  vmid: number,
  error: string,
): { path: string; content: string } {
  const upid = nextUpid(s, "qmstart", String(vmid));
  const lines = error.replace(/\n+$/, "").split("\n");
  const last = lines.pop() ?? "";
  const start = upid.split(":")[4]!;
  return {
    path: `${TASK_DIR}/${start.slice(7, 8)}/${upid}`,
    content: [...lines, `TASK ERROR: ${last}`, ""].join("\n"),
  };
}
