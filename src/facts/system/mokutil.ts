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
