/**
 * In-memory Host test double: a Map filesystem and a table of command handlers. Reboot bumps
 * /proc/sys/kernel/random/boot_id and calls onReboot. Counts round trips and records every exec.
 */
import type { Capture, CaptureSpec } from "../../src/facts/capture.ts";
import { captureViaPrimitives } from "../../src/hosts/capture-generic.ts";
import type { ExecResult, FileStat, Host } from "../../src/hosts/host.ts";

export type Handler = (argv: string[], host: MemoryHost) => ExecResult | Promise<ExecResult>;

export const ok = (stdout = ""): ExecResult => ({ stdout, stderr: "", exitCode: 0 });
export const fail = (stderr: string, exitCode = 1): ExecResult => ({ stdout: "", stderr, exitCode });

export class MemoryHost implements Host {
  readonly kind = "sim" as const;
  readonly spec: string;
  readonly name: string;
  readonly readOnly = false;
  readonly files = new Map<string, { content: string; mode: number }>();
  readonly handlers = new Map<string, Handler>();
  readonly execLog: string[][] = [];
  roundTrips = 0;
  reboots = 0;
  onReboot: ((h: MemoryHost) => void) | null = null;

  constructor(name = "mem", files: Record<string, string> = {}) {
    this.spec = `sim:${name}`;
    this.name = name;
    for (const [p, c] of Object.entries(files)) this.files.set(p, { content: c, mode: 0o644 });
    this.files.set("/proc/sys/kernel/random/boot_id", { content: "boot-0\n", mode: 0o444 });
  }

  /** Register a handler for a program (argv[0]). */
  on(program: string, h: Handler): this {
    this.handlers.set(program, h);
    return this;
  }

  async exec(argv: readonly string[]): Promise<ExecResult> {
    this.roundTrips++;
    this.execLog.push([...argv]);
    const h = this.handlers.get(argv[0]!);
    if (!h) return { stdout: "", stderr: `${argv[0]}: command not found`, exitCode: 127 };
    return h([...argv], this);
  }

  async readFile(path: string): Promise<string | null> {
    this.roundTrips++;
    return this.files.get(path)?.content ?? null;
  }

  async writeFile(path: string, content: string, opts?: { mode?: number }): Promise<void> {
    this.roundTrips++;
    this.files.set(path, { content, mode: opts?.mode ?? this.files.get(path)?.mode ?? 0o644 });
  }

  async createExclusive(path: string, content: string, opts?: { mode?: number }): Promise<boolean> {
    this.roundTrips++;
    if (this.files.has(path)) return false;
    this.files.set(path, { content, mode: opts?.mode ?? 0o644 });
    return true;
  }

  async list(path: string): Promise<string[] | null> {
    this.roundTrips++;
    const prefix = path.endsWith("/") ? path : `${path}/`;
    const names = new Set<string>();
    for (const p of this.files.keys())
      if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split("/")[0]!);
    return names.size > 0 ? [...names].sort() : null;
  }

  async stat(path: string): Promise<FileStat | null> {
    this.roundTrips++;
    const f = this.files.get(path);
    if (f) return { type: "file", size: f.content.length, mode: 0o100000 | f.mode };
    const prefix = `${path}/`;
    for (const p of this.files.keys())
      if (p.startsWith(prefix)) return { type: "dir", size: 0, mode: 0o40755 };
    return null;
  }

  async remove(path: string): Promise<void> {
    this.roundTrips++;
    this.files.delete(path);
  }

  async reboot(): Promise<void> {
    this.roundTrips++;
    this.reboots++;
    this.files.set("/proc/sys/kernel/random/boot_id", { content: `boot-${this.reboots}\n`, mode: 0o444 });
    this.onReboot?.(this);
  }

  async capture(spec: CaptureSpec): Promise<Capture> {
    return captureViaPrimitives(this, spec, this.name);
  }

  async close(): Promise<void> {}

  read(path: string): string | null {
    return this.files.get(path)?.content ?? null;
  }

  /** Every file except volatile /proc and vgpuctl state, for before/after comparisons. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [p, f] of [...this.files.entries()].sort(([a], [b]) => a.localeCompare(b)))
      if (!p.startsWith("/proc/")) out[p] = f.content;
    return out;
  }
}
