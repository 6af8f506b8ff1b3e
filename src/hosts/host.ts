import type { Capture, CaptureSpec } from "../facts/capture.ts";

export type HostKind = "local" | "ssh" | "bundle" | "sim";

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** 127 when the program does not exist on the host. */
  exitCode: number;
}

export interface ExecOptions {
  /** Written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
}

export interface FileStat {
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  mode: number;
}

/**
 * The only way the rest of the tool touches a machine (DESIGN.md "Layers").
 * Paths are absolute paths *on the host*; a `local --root DIR` host prefixes them itself.
 * Reads return `null` for "absent on the host"; a bundle throws NotCapturedError for "unknown".
 */
export interface Host {
  readonly kind: HostKind;
  /** The --host spec it was opened from, e.g. "sim:seed-fresh". */
  readonly spec: string;
  /** Short display name: hostname for ssh, scenario for sim, bundle's `host`. */
  readonly name: string;
  readonly readOnly: boolean;
  /**
   * Capability: every operation is a round trip worth saving (a remote host), so callers batch —
   * several commands in one `sh -c` exec, several files in one capture. Absent/false: operations are
   * cheap and callers go one by one.
   */
  readonly batches?: boolean;

  /** argv[0] is the program; no shell is involved (the ssh host quotes each argument). */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  readFile(path: string): Promise<string | null>;
  /** Atomic (write to temp + rename). Creates parent directories. */
  writeFile(path: string, content: string, opts?: { mode?: number }): Promise<void>;
  /**
   * Create `path` with `content` only if nothing exists there, atomically: of two callers racing
   * for the same path exactly one gets true; false when the path exists. The file appears with its
   * whole content (never empty or half-written). Creates parent directories. What the apply lock
   * (src/apply/lock.ts) is built on. Writable hosts have it; read-only hosts throw ReadOnlyHostError.
   * (Optional in the type only so that test doubles of read-only hosts need not spell it out.)
   */
  createExclusive?(path: string, content: string, opts?: { mode?: number }): Promise<boolean>;
  /** Names of the entries of a directory, or null when it does not exist. */
  list(path: string): Promise<string[] | null>;
  stat(path: string): Promise<FileStat | null>;
  remove(path: string): Promise<void>;
  /** Reboot and wait until the host answers again. */
  reboot(): Promise<void>;
  /**
   * Gather everything in `spec` at once. Remote hosts do this in ONE round trip
   * (a single gather script), which is why fact gathering goes through here and not exec/readFile.
   */
  capture(spec: CaptureSpec): Promise<Capture>;
  close(): Promise<void>;
}
