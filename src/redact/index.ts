/**
 * redactCapture: a Capture with every secret replaced (see redactor.ts for what and why), before anything
 * is written or sent. Pure and idempotent; records the kinds redacted (never the values) in `redacted`.
 */
import type { Capture } from "../facts/capture.ts";
import { Redactor } from "./redactor.ts";

export { isPublicV4, isPublicV6, type RedactionKind, Redactor } from "./redactor.ts";

/** Outputs made of package/version lists: dotted version numbers there are not IP addresses. */
const NO_IP_COMMANDS = /^(dpkg-query|dpkg|pveversion|lsmod|dkms|apt)\b/;
/** Files that are themselves identifiers. */
const WHOLE_FILE = /\/(product_serial|board_serial|chassis_serial|product_uuid|machine-id)$/;
const SECRET_FILE = /\/(priv\/[^/]+|[^/]*\.(key|pem|tok))$/;

export function redactCapture(capture: Capture): Capture {
  const r = new Redactor();
  const commands = capture.commands.map((c) => ({
    ...c,
    stdout: r.redact(c.stdout, { ips: !NO_IP_COMMANDS.test(c.cmd.trim()) }),
  }));
  const files: Record<string, string> = {};
  for (const path of Object.keys(capture.files).sort()) {
    const text = capture.files[path]!;
    if (WHOLE_FILE.test(path)) files[path] = r.redactWhole("serial-number", text);
    else if (SECRET_FILE.test(path)) files[path] = r.redactWhole("secret", text);
    else files[path] = r.redact(text);
  }
  // Preserve the original key order of files (bundles list them as captured).
  const ordered: Record<string, string> = {};
  for (const path of Object.keys(capture.files)) ordered[path] = files[path]!;
  const notes = capture.notes.map((n) => r.redact(n));
  const redacted = [...new Set([...capture.redacted, ...r.kinds])].sort();
  return { ...capture, commands, files: ordered, notes, redacted };
}
