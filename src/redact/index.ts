/**
 * redactCapture: a Capture with every secret replaced (see redactor.ts for what and why), before anything
 * is written or sent. Pure and idempotent; records the kinds redacted (never the values) in `redacted`.
 */
import type { Capture } from "../facts/capture.ts";
import { Redactor } from "./redactor.ts";
import { redactionMode } from "./rules.ts";

export { isPublicV4, isPublicV6, type RedactionKind, Redactor } from "./redactor.ts";

export function redactCapture(capture: Capture): Capture {
  const r = new Redactor();
  const commands = capture.commands.map((c) => ({
    ...c,
    stdout: r.redact(c.stdout, { ips: redactionMode({ cmd: c.cmd }) !== "noip" }),
  }));
  const files: Record<string, string> = {};
  for (const path of Object.keys(capture.files).sort()) {
    const text = capture.files[path]!;
    const mode = redactionMode({ path });
    if (mode === "serial") files[path] = r.redactWhole("serial-number", text);
    else if (mode === "secret") files[path] = r.redactWhole("secret", text);
    else files[path] = r.redact(text);
  }
  // Preserve the original key order of files (bundles list them as captured).
  const ordered: Record<string, string> = {};
  for (const path of Object.keys(capture.files)) ordered[path] = files[path]!;
  const notes = capture.notes.map((n) => r.redact(n));
  const redacted = [...new Set([...capture.redacted, ...r.kinds])].sort();
  return { ...capture, commands, files: ordered, notes, redacted };
}
