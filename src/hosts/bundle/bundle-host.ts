import { type Capture, type CaptureSpec, Evidence, formatCommand } from "../../facts/capture.ts";
import { NotCapturedError, ReadOnlyHostError } from "../../util/errors.ts";
import type { ExecResult, FileStat, Host } from "../host.ts";
import { readBundle } from "./bundle-io.ts";

export { commandSlug, readBundle, writeBundle } from "./bundle-io.ts";

/**
 * Read-only replay of a captured bundle (`--host bundle:PATH`). What the bundle does not hold
 * is *unknown* (NotCapturedError), never guessed; what it says is absent is absent (null).
 */
export class BundleHost implements Host {
  readonly kind = "bundle" as const;
  readonly readOnly = true;
  readonly name: string;
  private readonly evidence: Evidence;

  private constructor(
    private readonly bundle: Capture,
    readonly spec: string,
  ) {
    this.name = bundle.host;
    this.evidence = new Evidence(bundle);
  }

  static async open(path: string, spec: string): Promise<BundleHost> {
    return new BundleHost(await readBundle(path), spec);
  }

  /** A BundleHost over an in-memory Capture (tests, `support-bundle` previews). */
  static fromCapture(capture: Capture, spec: string): BundleHost {
    return new BundleHost(capture, spec);
  }

  async exec(argv: readonly string[]): Promise<ExecResult> {
    const cmd = formatCommand(argv);
    const c = this.evidence.command(cmd);
    if (!c) throw new NotCapturedError(`command \`${cmd}\``);
    return { stdout: c.stdout, stderr: "", exitCode: c.exitCode };
  }

  async readFile(path: string): Promise<string | null> {
    const f = this.evidence.file(path);
    if (f === undefined) throw new NotCapturedError(`file ${path}`);
    return f;
  }

  async list(path: string): Promise<string[] | null> {
    const names = this.evidence.list(path);
    if (names === undefined) throw new NotCapturedError(`folder ${path}`);
    return names.length > 0 ? names : null;
  }

  async stat(path: string): Promise<FileStat | null> {
    const content = this.bundle.files[path];
    if (content !== undefined) return { type: "file", size: Buffer.byteLength(content), mode: 0o644 };
    const names = this.evidence.list(path);
    if (names === undefined) throw new NotCapturedError(`path ${path}`);
    return names.length > 0 ? { type: "dir", size: 0, mode: 0o755 } : null;
  }

  async writeFile(_path: string, _content: string, _opts?: { mode?: number }): Promise<void> {
    throw new ReadOnlyHostError(this.spec);
  }

  async createExclusive(_path: string, _content: string, _opts?: { mode?: number }): Promise<boolean> {
    throw new ReadOnlyHostError(this.spec);
  }

  async remove(_path: string): Promise<void> {
    throw new ReadOnlyHostError(this.spec);
  }

  async reboot(): Promise<void> {
    throw new ReadOnlyHostError(this.spec);
  }

  /** The whole bundle, whatever `spec` asks for (a bundle cannot gather more). */
  async capture(_spec: CaptureSpec): Promise<Capture> {
    return structuredClone(this.bundle);
  }

  async close(): Promise<void> {}
}
