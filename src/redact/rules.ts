/**
 * The redaction rules as data: what counts as a secret, which values are left alone, the placeholders,
 * which outputs and files are treated specially. Read by BOTH redactors — the TypeScript one
 * (redactor.ts, index.ts: support-bundle) and the awk one (awk.ts: the gather-script run on hosts
 * without Node) — so they cannot drift apart; test/redact/awk-parity.test.ts runs both on the same
 * inputs and compares.
 */

export const REDACTED = "REDACTED";

/**
 * A key is one word: a run of KEY_CHARS with none of them next to it. It names a secret when it contains
 * one of SECRET_KEY_WORDS (`password=…`, `"api_key": "…"`, cloud-init `cipassword:`, `credentials`) or
 * ends in one of SHORT_SECRET_KEY_WORDS after a non-letter or alone (`db pass`, `DB_PWD`, `pw=`; not
 * `bypass`, `passthrough`, `Pass-Through`); case-insensitive, lowercase ERE alternatives (JS and awk alike).
 * A word starting with the placeholder (`REDACTED-SECRET-1`) is no key.
 */
export const KEY_CHARS = "A-Za-z0-9_.-";
export const SECRET_KEY_WORDS = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "api[_-]?key",
  "apikey",
  "auth[_-]?key",
  "credentials?",
];
export const SHORT_SECRET_KEY_WORDS = ["pass", "pw", "pwd"];

/**
 * The three forms a secret follows its key in (issue 13 item 15; false positives are preferred over
 * leaks), each applied to the whole text in this order:
 *  - `key = v`, `key: v`, `"key": "v"`, `key%3A v` (Proxmox stores a VM description as `#` comment
 *    lines through PVE::Tools::encode_text, which escapes ':' as %3A): KEY_VALUE_SEPARATORS
 *  - prose `key is v` / `key was v`: PROSE_VERBS between blanks (spaces or tabs)
 *  - `key v` with only spaces between (not tabs: `dpkg-query -W` lists `libsecret-1-0<TAB>0.20.5-3`), when
 *    v looks like a secret: SECRET_LOOKING_MIN+ characters, one of them in SECRET_LOOKING_CHARS
 * The value runs up to whitespace or one of VALUE_END_CHARS.
 */
export const KEY_VALUE_SEPARATORS = [":", "=", "%3a"];
export const PROSE_VERBS = ["is", "was"];
export const SECRET_LOOKING_MIN = 6;
export const SECRET_LOOKING_CHARS = "0-9@!#$%^&*+/~?";
export const VALUE_END_CHARS = `"',;}`;

/** Values after a secret key that are not secrets ("token: none"), matched whole and case-insensitively (also `***`). */
export const NOT_SECRET_VALUES = [
  "none",
  "null",
  "true",
  "false",
  "n/a",
  "yes",
  "no",
  "unset",
  "empty",
  "missing",
];

/** Serial-number values that are no serial ("Serial Number : N/A"). */
export const NO_SERIAL_VALUES = ["n/a", "none", "not available", "[n/a]"];

/** Placeholders (shaped like what they replace, so parsers still read them). */
export const PLACEHOLDER = {
  /** locally administered MAC prefix; "ad ac" marks a placeholder */
  macPrefix: "02:ad:ac",
  gpuUuidPrefix: "00000000-0000-0000-0000-",
  /** TEST-NET-2 (RFC 5737) */
  ipv4Prefix: "198.51.100.",
  /** documentation prefix (RFC 3849) */
  ipv6Prefix: "2001:db8::",
} as const;

/** Outputs made of package/version lists, by their program: dotted version numbers there are not IP addresses. */
export const NO_IP_PROGRAMS = ["dpkg-query", "dpkg", "pveversion", "lsmod", "dkms", "apt"];

/** Files that are themselves identifiers (replaced whole, as a serial number), by base name. */
export const WHOLE_FILE_NAMES = [
  "product_serial",
  "board_serial",
  "chassis_serial",
  "product_uuid",
  "machine-id",
];

/** Files that are themselves secrets (replaced whole): anything in a `priv/` folder, `*.key`, `*.pem`, `*.tok`. */
export const SECRET_FILE_EXTENSIONS = ["key", "pem", "tok"];

/** IPv4 ranges that are not public: [first octet, second octet range, third octet range] (inclusive). */
export const PRIVATE_V4: ReadonlyArray<
  readonly [number, readonly [number, number], readonly [number, number]]
> = [
  [0, [0, 255], [0, 255]],
  [10, [0, 255], [0, 255]],
  [127, [0, 255], [0, 255]],
  [100, [64, 127], [0, 255]], // CGNAT
  [169, [254, 254], [0, 255]], // link-local
  [172, [16, 31], [0, 255]],
  [192, [168, 168], [0, 255]],
  [192, [0, 0], [0, 0]], // IETF protocol assignments
  [192, [0, 0], [2, 2]], // TEST-NET-1
  [198, [18, 19], [0, 255]], // benchmarking
  [198, [51, 51], [100, 100]], // TEST-NET-2
  [203, [0, 0], [113, 113]], // TEST-NET-3
];
/** First octets from here up are multicast/reserved (not public). */
export const V4_RESERVED_FROM = 224;

const NO_IP_COMMAND = new RegExp(`^(${NO_IP_PROGRAMS.join("|")})\\b`);
/** Path patterns (POSIX ERE and JS alike) of whole-file identifiers and secrets. */
export const WHOLE_FILE_PATTERN = `/(${WHOLE_FILE_NAMES.join("|")})$`;
export const SECRET_FILE_PATTERN = `/(priv/[^/]+|[^/]*\\.(${SECRET_FILE_EXTENSIONS.join("|")}))$`;
const WHOLE_FILE = new RegExp(WHOLE_FILE_PATTERN);
const SECRET_FILE = new RegExp(SECRET_FILE_PATTERN);

/**
 * How one captured text is redacted: `noip` = everything but IP addresses (version lists), `serial` /
 * `secret` = the whole content is one identifier / secret, `text` = every rule.
 */
export type RedactionMode = "text" | "noip" | "serial" | "secret";

export function redactionMode(of: { cmd: string } | { path: string }): RedactionMode {
  if ("cmd" in of) return NO_IP_COMMAND.test(of.cmd.trim()) ? "noip" : "text";
  if (WHOLE_FILE.test(of.path)) return "serial";
  return SECRET_FILE.test(of.path) ? "secret" : "text";
}
