/**
 * Text redaction for support bundles. Pure. Every secret is replaced by a deterministic placeholder
 * (same value → same placeholder within one Redactor), shaped like the original where parsers care
 * (a MAC stays a MAC, an IP stays an IP, a GPU UUID stays a GPU UUID), so the bundle still parses and the
 * evidence stays consistent across files. Placeholders are never redacted again (idempotent).
 *
 * What is redacted, and what deliberately is not:
 *  - secret        PVEAPIToken=user@realm!id=<secret>, "Authorization: Bearer …", key=value / key: value /
 *                  "key": "value" / `key%3A value` / prose `key is value` / `key value` (value with a digit
 *                  or symbol) where the key names a password (also pass, pw, pwd), passphrase, secret,
 *                  token, credential or API key (incl. cloud-init `cipassword:`), passwords in URLs
 *  - private-key   PEM "-----BEGIN … PRIVATE KEY-----" blocks
 *  - mac-address   every EUI-48 (VM configs `net0: virtio=AA:BB:…`, dmesg, lspci), also written without
 *                  separators (`BC2411AABBDD`); all-zero/broadcast kept
 *  - serial-number nvidia-smi -q "Serial Number", "SerialNumber:", `serial=` (smbios1, disks), sysfs/DMI
 *                  *_serial files
 *  - gpu-uuid      "GPU-xxxxxxxx-…" / "MIG-…": a per-board hardware identifier, never needed to diagnose
 *                  (bus ids identify GPUs in every check)
 *  - public-ip     IPv4/IPv6 outside private, loopback, link-local, CGNAT, multicast and documentation ranges
 *  Kept: mdev/vGPU UUIDs and VM SMBIOS UUIDs (Proxmox derives mdev UUIDs from VM ids; checks need them),
 *  host names, PCI addresses, versions.
 */
import { isIPv6 } from "node:net";
import {
  KEY_CHARS,
  KEY_VALUE_SEPARATORS,
  NO_SERIAL_VALUES,
  NOT_SECRET_VALUES,
  PLACEHOLDER,
  PRIVATE_V4,
  PROSE_VERBS,
  REDACTED,
  SECRET_KEY_WORDS,
  SECRET_LOOKING_CHARS,
  SECRET_LOOKING_MIN,
  SHORT_SECRET_KEY_WORDS,
  V4_RESERVED_FROM,
  VALUE_END_CHARS,
} from "./rules.ts";

export type RedactionKind =
  | "secret"
  | "private-key"
  | "mac-address"
  | "serial-number"
  | "gpu-uuid"
  | "public-ipv4"
  | "public-ipv6";

const MAC_PREFIX = PLACEHOLDER.macPrefix;
const GPU_UUID_PREFIX = PLACEHOLDER.gpuUuidPrefix;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const NO_SERIAL = new RegExp(`^(?:${NO_SERIAL_VALUES.map(escapeRe).join("|")})$`, "i");

export interface RedactOptions {
  /** Redact IP addresses (off for outputs full of dotted version numbers, e.g. dpkg-query -W) */
  ips?: boolean;
}

export class Redactor {
  private readonly maps = new Map<RedactionKind, Map<string, string>>();
  readonly kinds = new Set<RedactionKind>();

  /** The placeholder for `value` of `kind`, created on first use. */
  private placeholder(kind: RedactionKind, value: string, make: (n: number) => string): string {
    let m = this.maps.get(kind);
    if (!m) {
      m = new Map();
      this.maps.set(kind, m);
    }
    const key =
      kind === "mac-address" || kind === "public-ipv6" || kind === "gpu-uuid" ? value.toLowerCase() : value;
    let p = m.get(key);
    if (!p) {
      p = make(m.size + 1);
      m.set(key, p);
    }
    this.kinds.add(kind);
    return p;
  }

  redact(text: string, opts: RedactOptions = {}): string {
    if (typeof text !== "string" || text === "") return text;
    let t = text;
    t = this.privateKeys(t);
    t = this.tokens(t);
    t = this.serials(t);
    t = this.gpuUuids(t);
    t = this.macs(t);
    if (opts.ips !== false) {
      t = this.ipv4(t);
      t = this.ipv6(t);
    }
    return t;
  }

  /** Replace the whole content (a file that is itself a secret or serial). */
  redactWhole(kind: RedactionKind, text: string): string {
    const v = text.trim();
    if (v === "" || v.startsWith(REDACTED)) return text;
    return `${this.placeholder(kind, v, (n) => `${REDACTED}-${label(kind)}-${n}`)}\n`;
  }

  private privateKeys(t: string): string {
    return t.replace(
      /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
      (_m, kind: string) => {
        if (_m.includes(`\n${REDACTED}\n`)) return _m;
        this.kinds.add("private-key");
        return `-----BEGIN ${kind}PRIVATE KEY-----\n${REDACTED}\n-----END ${kind}PRIVATE KEY-----`;
      },
    );
  }

  private secret(value: string): string {
    if (value.startsWith(REDACTED)) return value;
    return this.placeholder("secret", value, (n) => `${REDACTED}-SECRET-${n}`);
  }

  private tokens(t: string): string {
    // PVEAPIToken=user@realm!tokenid=SECRET (header or config)
    t = t.replace(
      /(PVEAPIToken[= ][^\s=!]+![^\s=]+=)([^\s"',;]+)/g,
      (_m, k: string, v: string) => k + this.secret(v),
    );
    // Authorization: Bearer|Basic SECRET
    t = t.replace(
      /(Authorization:\s*(?:Bearer|Basic)\s+)([^\s"',;]+)/gi,
      (_m, k: string, v: string) => k + this.secret(v),
    );
    // user:password@ in URLs
    t = t.replace(
      /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)([^/\s@]+)(@)/gi,
      (_m, a: string, v: string, b: string) => a + this.secret(v) + b,
    );
    return this.keyedSecrets(t);
  }

  /**
   * A value after a word that names a secret, in the three forms of rules.ts (KEY_VALUE_SEPARATORS,
   * PROSE_VERBS, SECRET_LOOKING_*), widest first. PVEAPIToken=user@realm!id=… is handled in tokens()
   * (user, realm and token id are kept).
   */
  private keyedSecrets(t: string): string {
    const put = (m: string, key: string, head: string, v: string) =>
      keepValue(v) || /^PVEAPIToken$/i.test(key) ? m : head + this.secret(v);
    t = t.replace(KEY_SEP_VALUE, (m, q: string, key: string, sep: string, q2: string, v: string) =>
      put(m, key, `${q}${key}${q}${sep}${q2}`, v),
    );
    t = t.replace(KEY_VERB_VALUE, (m, key: string, sep: string, v: string) => put(m, key, key + sep, v));
    return t.replace(KEY_SECRET_LOOKING, (m, key: string, sep: string, v: string) =>
      put(m, key, key + sep, v),
    );
  }

  private serials(t: string): string {
    const serial = (v: string) =>
      v.startsWith(REDACTED) ? v : this.placeholder("serial-number", v, (n) => `${REDACTED}-SERIAL-${n}`);
    // nvidia-smi -q "Serial Number : 1322621091831", "RACK Serial Number : …", USB "SerialNumber: …"
    t = t.replace(
      /^([ \t]*[A-Za-z ]*Serial ?Number[ \t]*:[ \t]*)(\S[^\r\n]*?)([ \t]*)$/gim,
      (m, k: string, v: string, tail: string) => (NO_SERIAL.test(v) ? m : k + serial(v) + tail),
    );
    t = t.replace(/(SerialNumber:\s*)(\S+)/g, (m, k: string, v: string) =>
      /^N\/A$/i.test(v) ? m : k + serial(v),
    );
    // lspci -vv "Device Serial Number 48-b0-2d-ff-ff-5e-8b-a4"
    t = t.replace(
      /(Device Serial Number )([0-9a-f]{2}(?:-[0-9a-f]{2}){7})/gi,
      (_m, k: string, v: string) => k + serial(v),
    );
    // smbios1: serial=…, disk …,serial=…
    t = t.replace(/(\bserial=)([^,\s]+)/gi, (_m, k: string, v: string) => k + serial(v));
    return t;
  }

  private gpuUuids(t: string): string {
    return t.replace(
      /\b(GPU|MIG)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/gi,
      (m, pfx: string, u: string) => {
        if (u.toLowerCase().startsWith(GPU_UUID_PREFIX)) return m;
        const p = this.placeholder(
          "gpu-uuid",
          `${pfx}-${u}`,
          (n) => `${GPU_UUID_PREFIX}${String(n).padStart(12, "0")}`,
        );
        return `${pfx}-${p}`;
      },
    );
  }

  private macs(t: string): string {
    return this.bareMacs(this.separatedMacs(t));
  }

  /** The same placeholder for one MAC in every spelling (keyed as lower-case colon form). */
  private macPlaceholder(norm: string): string {
    return this.placeholder("mac-address", norm, (n) => {
      const h = n.toString(16).padStart(6, "0");
      return `${MAC_PREFIX}:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
    });
  }

  /**
   * A MAC written without separators (`BC2411AABBDD`): 12 hex digits standing alone (no letter,
   * digit, `_`, `.`, `:` or `-` next to them, so UUID groups, hex constants `0x…` and hashes stay)
   * with at least one letter a–f, so plain 12-digit numbers (counters, sizes) stay.
   */
  private bareMacs(t: string): string {
    return t.replace(/(?<![0-9A-Za-z_.:-])(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{12}(?![0-9A-Za-z_.:-])/g, (m) => {
      const norm = m.toLowerCase().replace(/(..)(?!$)/g, "$1:");
      if (norm === "ff:ff:ff:ff:ff:ff" || norm.startsWith(MAC_PREFIX)) return m;
      const out = this.macPlaceholder(norm).replaceAll(":", "");
      return m === m.toUpperCase() ? out.toUpperCase() : out;
    });
  }

  private separatedMacs(t: string): string {
    return t.replace(
      /(?<![0-9A-Fa-f:-])([0-9A-Fa-f]{2})([:-])((?:[0-9A-Fa-f]{2}\2){4}[0-9A-Fa-f]{2})(?![0-9A-Fa-f]|[:-][0-9A-Fa-f])/g,
      (m, first: string, sep: string) => {
        const norm = m.toLowerCase().replaceAll("-", ":");
        if (norm === "00:00:00:00:00:00" || norm === "ff:ff:ff:ff:ff:ff" || norm.startsWith(MAC_PREFIX))
          return m;
        const p = this.macPlaceholder(norm);
        const upper = first === first.toUpperCase() && /[A-F]/.test(m);
        const out = sep === "-" ? p.replaceAll(":", "-") : p;
        return upper ? out.toUpperCase() : out;
      },
    );
  }

  private ipv4(t: string): string {
    return t.replace(
      /(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w.]|\.\d)/g,
      (m, ...g: string[]) => {
        const oct = g.slice(0, 4);
        if (oct.some((o) => (o.length > 1 && o.startsWith("0")) || Number(o) > 255)) return m; // not an address
        const [a, b, c] = oct.map(Number) as [number, number, number, number];
        if (!isPublicV4(a, b, c)) return m;
        return this.placeholder("public-ipv4", m, (n) => `${PLACEHOLDER.ipv4Prefix}${((n - 1) % 254) + 1}`);
      },
    );
  }

  private ipv6(t: string): string {
    return t.replace(/(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])/g, (m) => {
      if (!isIPv6(m) || !(m.includes("::") || m.split(":").length === 8)) return m;
      if (!isPublicV6(m)) return m;
      return this.placeholder("public-ipv6", m, (n) => `${PLACEHOLDER.ipv6Prefix}${n.toString(16)}`);
    });
  }
}

/** One key word (rules.ts KEY_CHARS, SECRET_KEY_WORDS, SHORT_SECRET_KEY_WORDS). */
const KC = `[${KEY_CHARS}]`;
const SECRET_KEY = `(?<!${KC})(?!redacted)(?:${KC}*(?:${SECRET_KEY_WORDS.join("|")})${KC}*|(?:${KC}*[0-9_.-])?(?:${SHORT_SECRET_KEY_WORDS.join("|")}))(?!${KC})`;
/** Whitespace spelled out (JS `\s` also matches Unicode spaces, awk's [[:space:]] in the C locale does not). */
const WS = "[ \\t\\n\\r\\f\\v]";
const VALUE_CHAR = `[^ \\t\\n\\r\\f\\v${escapeRe(VALUE_END_CHARS)}]`;
const VALUE = `${VALUE_CHAR}+`;
const SEPARATOR = `(?:${KEY_VALUE_SEPARATORS.map(escapeRe).join("|")})`;
const KEY_SEP_VALUE = new RegExp(
  `(["']?)(${SECRET_KEY})\\1(${WS}*${SEPARATOR}${WS}*)(["']?)(${VALUE})`,
  "gi",
);
const KEY_VERB_VALUE = new RegExp(
  `(${SECRET_KEY})([ \\t]+(?:${PROSE_VERBS.join("|")})[ \\t]+)(${VALUE})`,
  "gi",
);
const KEY_SECRET_LOOKING = new RegExp(
  `(${SECRET_KEY})( +)((?=${VALUE_CHAR}*[${SECRET_LOOKING_CHARS}])${VALUE_CHAR}{${SECRET_LOOKING_MIN},})`,
  "gi",
);
const NOT_SECRET = new RegExp(`^(?:${NOT_SECRET_VALUES.map(escapeRe).join("|")}|\\*+)$`, "i");

/** Values left alone after a secret-naming word: placeholders, and words that say there is none. */
function keepValue(v: string): boolean {
  return v.startsWith(REDACTED) || NOT_SECRET.test(v);
}

function label(kind: RedactionKind): string {
  return kind === "serial-number"
    ? "SERIAL"
    : kind === "secret" || kind === "private-key"
      ? "SECRET"
      : kind.toUpperCase();
}

/** Not private (RFC 1918), loopback, link-local, CGNAT, "this network", benchmark, documentation, multicast/reserved. */
export function isPublicV4(a: number, b: number, c: number): boolean {
  if (a >= V4_RESERVED_FROM) return false;
  return !PRIVATE_V4.some(([a0, [b0, b1], [c0, c1]]) => a === a0 && b >= b0 && b <= b1 && c >= c0 && c <= c1);
}

/** Global unicast outside documentation space; ::, ::1, fe80::/10, fc00::/7, ff00::/8, 2001:db8::/32 are kept. */
export function isPublicV6(addr: string): boolean {
  const a = addr.toLowerCase();
  if (a === "::" || a === "::1") return false;
  if (a.startsWith("::ffff:")) return false; // v4-mapped: the v4 rule applies to the dotted form
  const first = Number.parseInt(a.split(":")[0] || "0", 16);
  if ((first & 0xffc0) === 0xfe80) return false;
  if ((first & 0xfe00) === 0xfc00) return false;
  if ((first & 0xff00) === 0xff00) return false;
  if (/^2001:0?db8:/.test(a)) return false;
  return (first & 0xe000) === 0x2000; // 2000::/3 global unicast
}
