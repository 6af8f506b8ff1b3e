import { lines } from "./text.ts";

/**
 * `mokutil --sb-state`:
 *   "SecureBoot enabled" → true; "SecureBoot disabled" → false;
 *   "EFI variables are not supported on this system" / "This system doesn't support Secure Boot"
 *   (legacy BIOS boot, so no Secure Boot) → false;
 *   "SecureBoot validation is disabled in shim" (with "enabled") → false: the kernel does not enforce.
 * Anything else → null.
 */
export function parseMokutilSbState(text: string): boolean | null {
  let state: boolean | null = null;
  let shimValidationOff = false;
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (/^SecureBoot enabled\b/i.test(line)) state = true;
    else if (/^SecureBoot disabled\b/i.test(line)) state = false;
    else if (/EFI variables are not supported/i.test(line) || /doesn't support Secure Boot/i.test(line))
      state = false;
    else if (/SecureBoot validation is disabled in shim/i.test(line)) shimValidationOff = true;
  }
  if (state === true && shimValidationOff) return false;
  return state;
}

/** What `mokutil --test-key /var/lib/dkms/mok.pub` says about the DKMS signing certificate. */
export type MokKeyState = "enrolled" | "pending" | "not-enrolled" | "absent";

/**
 * `mokutil --test-key CERT` (lcp/mokutil test_key): "CERT is already enrolled", "CERT is not enrolled",
 * "CERT is already in the enrollment request" on stdout; a missing file is reported on stderr ("Failed to
 * open CERT") with a failing exit status and nothing on stdout. Anything else (127: no mokutil) → null.
 */
export function parseMokutilTestKey(stdout: string, exitCode: number): MokKeyState | null {
  if (/\bis already in the enrollment request\b/.test(stdout)) return "pending";
  if (/\bis already enrolled\b/.test(stdout)) return "enrolled";
  if (/\bis not enrolled\b/.test(stdout)) return "not-enrolled";
  if (stdout.trim() === "" && exitCode !== 0 && exitCode !== 127) return "absent";
  return null;
}
