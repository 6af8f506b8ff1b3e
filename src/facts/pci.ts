/**
 * PCI addresses as every parser and consumer writes them: "0000:01:00.0" (domain, bus, device,
 * function; lower case; the domain at least 4 hex digits, as lspci -D and sysfs print it). The one
 * place that turns the other spellings ("01:00.0" from lspci without -D or a hostpci line,
 * "00000000:01:00.0" from nvidia-smi, "0:1:0:0"-style ids are handled by derive.ts pciFromVgpud)
 * into that form. Pure; never throws.
 */

/**
 * What to do with the function number:
 * - "optional" (default): keep what is written — "01:00" stays "0000:01:00" (a hostpci line's "all functions");
 * - "required": an address without a function is not an address (null) — sysfs / nvidia-smi bus ids;
 * - "zero": an address without a function means function 0 — "01:00" → "0000:01:00.0".
 */
export type PciFunctionPart = "optional" | "required" | "zero";

/** `s` is 1 to `max` (and at least `min`) lower-case hex digits. */
function isHexRun(s: string, min: number, max: number): boolean {
  if (s.length < min || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * The parts of `[domain:]bus:device[.function]` (lower case, trimmed), else null — what
 * /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{2}):([0-9a-f]{2})(?:\.([0-7]))?$/ matches, read by splitting:
 * this runs for every address every parser and check sees, and in a cold start a regex call per
 * address (and its compile) cost more than the split (callgrind, issue 16).
 */
function addressParts(s: string): { domain: string; bus: string; dev: string; fn?: string } | null {
  const dot = s.indexOf(".");
  const head = dot < 0 ? s : s.slice(0, dot);
  const fn = dot < 0 ? undefined : s.slice(dot + 1);
  if (fn !== undefined && !(fn.length === 1 && fn >= "0" && fn <= "7")) return null;
  const parts = head.split(":");
  if (parts.length < 2 || parts.length > 3) return null;
  const domain = parts.length === 3 ? parts[0]! : "0";
  const bus = parts[parts.length - 2]!;
  const dev = parts[parts.length - 1]!;
  if (!isHexRun(domain, 1, 8) || !isHexRun(bus, 2, 2) || !isHexRun(dev, 2, 2)) return null;
  return { domain, bus, dev, fn };
}

/**
 * "01:00.0" → "0000:01:00.0"; "00000000:01:00.0" (nvidia-smi) → "0000:01:00.0"; "0000:01:00.0" kept;
 * "10000:01:00.0" (a VMD domain) kept; upper case lowered, spaces trimmed. Anything else → null.
 */
export function normalisePciAddress(raw: string, fn: PciFunctionPart = "optional"): string | null {
  if (typeof raw !== "string") return null;
  const m = addressParts(raw.trim().toLowerCase());
  if (!m) return null;
  const domain = Number.parseInt(m.domain, 16).toString(16).padStart(4, "0");
  const base = `${domain}:${m.bus}:${m.dev}`;
  if (m.fn !== undefined) return `${base}.${m.fn}`;
  if (fn === "required") return null;
  return fn === "zero" ? `${base}.0` : base;
}

/** "0000:41:00.4" → "0000:41" (domain and bus); null when it is not a PCI address. */
export function pciBus(address: string): string | null {
  const a = normalisePciAddress(address);
  return a ? a.split(":").slice(0, 2).join(":") : null;
}

/** Both addresses are on the same bus (SR-IOV virtual functions sit on their physical function's bus). */
export function sameBus(a: string, b: string): boolean {
  const x = pciBus(a);
  return x !== null && x === pciBus(b);
}

/**
 * Does an address as a VM config writes it name this function? "0000:01:00.0" names itself; "01:00"
 * (no function: all functions of the device) names "0000:01:00.0", "0000:01:00.1", ….
 */
export function pciAddressCovers(spec: string | null, fn: string): boolean {
  if (!spec) return false;
  const s = normalisePciAddress(spec);
  const f = normalisePciAddress(fn);
  if (!s || !f) return false;
  return s === f || (!s.includes(".") && f.startsWith(`${s}.`));
}
