/**
 * The support-bundle redaction as a POSIX awk program (mawk, busybox awk, gawk), for the gather-script
 * that runs on hosts without Node. Same rules (rules.ts), same order, same placeholders as redactor.ts:
 * a pass per rule over the whole text, placeholders numbered per kind in order of first appearance
 * across everything redacted in one run. JS-only regex features (lookaround, back-references, `\b`,
 * case-insensitive flags) are written out as explicit boundary checks on a lowercase copy.
 *
 * Input: `awk -v LIST=FILE -f PROGRAM`, FILE holding lines "MODE<TAB>PATH" (MODE: text | noip |
 * serial | secret) in the order redactCapture visits them (commands, files sorted, notes). Each PATH is
 * written redacted to PATH.r; the kinds redacted are printed one per line at the end.
 */
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

const HEX1 = "[0-9A-Fa-f]";
const HEX2 = "[0-9a-f][0-9a-f]";
const H4 = "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]";

export function awkString(s: string): string {
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Whitespace spelled out as awk string escapes (the same set as redactor.ts WS). */
const AWK_WS = String.raw`\t\n\r\f\v`;

/** The key/value rules' regular expressions (rules.ts; matched on the lowercase text). */
function keyedData(): string[] {
  const value = `"[^ ${AWK_WS}" ${awkString(VALUE_END_CHARS)} "]+"`;
  const seps = `(${KEY_VALUE_SEPARATORS.join("|")})`;
  const heads = [
    `"^[ ${AWK_WS}]*${seps}[ ${AWK_WS}]*[\\"']?"`,
    `"^[ \\t]+(${PROSE_VERBS.join("|")})[ \\t]+"`,
    `"^ +"`,
  ];
  return [
    `KEYRE = ${awkString(`(${SECRET_KEY_WORDS.join("|")})`)}`,
    `SHORTKEYRE = ${awkString(`(^|[0-9_.-])(${SHORT_SECRET_KEY_WORDS.join("|")})$`)}`,
    `KEYWORDRE = ${awkString(`(${[...SECRET_KEY_WORDS, ...SHORT_SECRET_KEY_WORDS].join("|")})`)}`,
    `KEYCHAR = ${awkString(`^[${KEY_CHARS}]$`)}`,
    `MACRUN = "^[0-9A-Za-z_.:-]$"; H12 = "${HEX1.repeat(12)}"`,
    `KEYTAILRE = ${awkString(`(${[...SECRET_KEY_WORDS, ...SHORT_SECRET_KEY_WORDS].join("|")})[${KEY_CHARS}]*["']?`)} "[ ${AWK_WS}]*(${seps}[ ${AWK_WS}]*)?$"`,
    `BLANKSEPRE = "^[ ${AWK_WS}]*(${seps}[ ${AWK_WS}]*)?$"`,
    `SLMIN = ${SECRET_LOOKING_MIN}; SLCHARS = ${awkString(`[${SECRET_LOOKING_CHARS}]`)}`,
    ...heads.map((h, i) => `HEADRE[${i + 1}] = ${h}; FULLRE[${i + 1}] = ${h} ${value}`),
  ];
}

/** The awk program's data, from rules.ts. */
function dataBlock(): string {
  const lines = [
    `RED = ${awkString(REDACTED)}`,
    `MACP = ${awkString(PLACEHOLDER.macPrefix)}`,
    `UUIDP = ${awkString(PLACEHOLDER.gpuUuidPrefix)}`,
    `V4P = ${awkString(PLACEHOLDER.ipv4Prefix)}`,
    `V6P = ${awkString(PLACEHOLDER.ipv6Prefix)}`,
    ...keyedData(),
    `V4RES = ${V4_RESERVED_FROM}`,
    `NV4 = ${PRIVATE_V4.length}`,
  ];
  PRIVATE_V4.forEach(([a, [b0, b1], [c0, c1]], i) => {
    lines.push(`PA[${i}] = ${a}; PB0[${i}] = ${b0}; PB1[${i}] = ${b1}; PC0[${i}] = ${c0}; PC1[${i}] = ${c1}`);
  });
  for (const v of NOT_SECRET_VALUES) lines.push(`NOTSECRET[${awkString(v)}] = 1`);
  for (const v of NO_SERIAL_VALUES) lines.push(`NOSERIAL[${awkString(v)}] = 1`);
  return lines.map((l) => `  ${l}`).join("\n");
}

const HELPERS = String.raw`
function isword(c) { return c ~ /^[A-Za-z0-9_]$/ }
function hexval(h,   i, v) { v = 0; h = tolower(h); for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
function label(kind) { return kind == "serial-number" ? "SERIAL" : "SECRET" }
function ph(kind, value,   key, n, h) {
  key = kind SUBSEP value
  KINDS[kind] = 1
  if (key in PH) return PH[key]
  n = ++CNT[kind]
  if (kind == "mac-address") { h = sprintf("%06x", n); PH[key] = MACP ":" substr(h, 1, 2) ":" substr(h, 3, 2) ":" substr(h, 5, 2) }
  else if (kind == "gpu-uuid") PH[key] = UUIDP sprintf("%012d", n)
  else if (kind == "public-ipv4") PH[key] = V4P (((n - 1) % 254) + 1)
  else if (kind == "public-ipv6") PH[key] = V6P sprintf("%x", n)
  else PH[key] = RED "-" label(kind) "-" n
  return PH[key]
}
function secret(v) { return index(v, RED) == 1 ? v : ph("secret", v) }
function serial(v) { return index(v, RED) == 1 ? v : ph("serial-number", v) }
function trim(s) { sub(/^[ \t\n\r\f\v]+/, "", s); sub(/[ \t\n\r\f\v]+$/, "", s); return s }
function whole(kind, t,   v) { v = trim(t); if (v == "" || index(v, RED) == 1) return t; return ph(kind, v) "\n" }
`;

/** Private keys, then the token rules (redactor.ts privateKeys, tokens). */
const SECRET_RULES = String.raw`
function privkeys(t,   out, i, rest, lab, j, endm, k, blk) {
  out = ""; rest = t
  while ((i = index(rest, "-----BEGIN ")) > 0) {
    j = index(substr(rest, i + 11), "PRIVATE KEY-----")
    lab = j > 0 ? substr(rest, i + 11, j - 1) : ""
    if (j == 0 || lab !~ /^[A-Z0-9 ]*$/) { out = out substr(rest, 1, i); rest = substr(rest, i + 1); continue }
    endm = "-----END " lab "PRIVATE KEY-----"
    k = index(substr(rest, i), endm)
    if (k == 0) { out = out substr(rest, 1, i); rest = substr(rest, i + 1); continue }
    blk = substr(rest, i, k - 1 + length(endm))
    if (index(blk, "\n" RED "\n") == 0) { KINDS["private-key"] = 1; blk = "-----BEGIN " lab "PRIVATE KEY-----\n" RED "\n" endm }
    out = out substr(rest, 1, i - 1) blk; rest = substr(rest, i + k - 1 + length(endm))
  }
  return out rest
}
# one "prefix + value" rule: RE matches prefix+value, PRE the prefix at its start (both on the lowercase
# text when LC); WORDB: a word boundary (JS \b) must hold before it; SER: the value is a serial number
function pv(t, re, pre, lc, wordb, ser, skipna,   out, rest, m, v, s, l, prev) {
  out = ""; rest = t
  while (match(lc ? tolower(rest) : rest, re)) {
    s = RSTART; l = RLENGTH; m = substr(rest, s, l)
    prev = s > 1 ? substr(rest, s - 1, 1) : (out == "" ? "" : substr(out, length(out), 1))
    if (wordb && isword(prev)) { out = out substr(rest, 1, s); rest = substr(rest, s + 1); continue }
    match(lc ? tolower(m) : m, pre); v = substr(m, RLENGTH + 1)
    if (!(skipna && tolower(v) == "n/a")) m = substr(m, 1, RLENGTH) (ser ? serial(v) : secret(v))
    out = out substr(rest, 1, s - 1) m; rest = substr(rest, s + l)
  }
  return out rest
}
function tokens(t) {
  t = pv(t, "PVEAPIToken[= ][^[:space:]=!]+![^[:space:]=]+=[^[:space:]\"',;]+", "^PVEAPIToken[= ][^[:space:]=!]+![^[:space:]=]+=", 0, 0, 0, 0)
  t = pv(t, "authorization:[[:space:]]*(bearer|basic)[[:space:]]+[^[:space:]\"',;]+", "^authorization:[[:space:]]*(bearer|basic)[[:space:]]+", 1, 0, 0, 0)
  t = urlpw(t)
  return keyvalues(t)
}
function urlpw(t,   out, rest, s, m, c, a, prev) {
  out = ""; rest = t
  while (match(tolower(rest), "[a-z][a-z0-9+.-]*://[^/[:space:]:@]+:[^/[:space:]@]+@")) {
    s = RSTART; m = substr(rest, RSTART, RLENGTH)
    prev = s > 1 ? substr(rest, s - 1, 1) : (out == "" ? "" : substr(out, length(out), 1))
    if (isword(prev)) { out = out substr(rest, 1, s); rest = substr(rest, s + 1); continue }
    a = index(m, "://"); c = index(substr(m, a + 3), ":") + a + 2
    out = out substr(rest, 1, s - 1) substr(m, 1, c) secret(substr(m, c + 1, length(m) - c - 1)) "@"
    rest = substr(rest, s + length(m))
  }
  return out rest
}
`;

/**
 * A value after a word naming a secret, in rules.ts's three forms (redactor.ts keyedSecrets), without
 * lookaround or back-references: candidates are found by their key word, then widened to the whole word
 * by walking the characters (linear in the text, not a match per word).
 */
const KEYED_RULES = String.raw`
function keepvalue(v) { return index(v, RED) == 1 || (tolower(v) in NOTSECRET) || v ~ /^\*+$/ }
function iskey(w,   l) { l = tolower(w); return index(l, "redacted") != 1 && (l ~ KEYRE || l ~ SHORTKEYRE) }
function keyedvalue(t, form, pos, s, e, w,   q, tail, low, l, h, v, head) {
  q = ""
  if (form == 1 && s - 1 >= pos) { q = substr(t, s - 1, 1); if ((q != "\"" && q != "'") || substr(t, e, 1) != q) q = "" }
  tail = substr(t, e + length(q)); low = tolower(tail)
  if (!match(low, FULLRE[form])) return ""
  l = RLENGTH; match(low, HEADRE[form]); h = RLENGTH; v = substr(tail, h + 1, l - h)
  if (form == 3 && (length(v) < SLMIN || v !~ SLCHARS)) return ""
  head = substr(t, pos, e + length(q) + h - pos)
  KEYEDEND = e + length(q) + l
  return (keepvalue(v) || tolower(w) == "pveapitoken") ? head v : head secret(v)
}
# form 1: key = v, key: v, "key": "v", key%3A v; 2: key is v; 3: key v (v secret-looking)
function keyed(t, form,   out, pos, low, n, s, e, r) {
  out = ""; pos = 1; low = tolower(t); n = length(t)
  while (pos <= n && match(substr(low, pos), KEYWORDRE)) {
    s = pos + RSTART - 1; e = s + RLENGTH
    while (s > pos && substr(t, s - 1, 1) ~ KEYCHAR) s--
    while (e <= n && substr(t, e, 1) ~ KEYCHAR) e++
    r = iskey(substr(t, s, e - s)) ? keyedvalue(t, form, pos, s, e, substr(t, s, e - s)) : ""
    if (r == "") { out = out substr(t, pos, e - pos); pos = e } else { out = out r; pos = KEYEDEND }
  }
  return out substr(t, pos)
}
function keyedpiece(p, form) { return tolower(p) ~ KEYWORDRE ? keyed(p, form) : p }
# each form over the whole text, piece by piece (linear in the text): a piece ends at a newline unless
# the text before it ends in a key word, maybe with a separator — a match crosses lines only in its blanks
function keyvalues(t,   form, n, L, i, out, piece, open) {
  n = split(t, L, "\n")
  for (form = 1; form <= 3; form++) {
    out = ""; piece = L[1]; open = keytail(L[1], 0)
    for (i = 2; i <= n; i++) {
      if (open) piece = piece "\n" L[i]
      else { out = out keyedpiece(piece, form) "\n"; piece = L[i] }
      open = keytail(L[i], open)
    }
    t = out keyedpiece(piece, form); n = split(t, L, "\n")
  }
  return t
}
function keytail(l, open) { l = tolower(l); return l ~ KEYTAILRE || (open && l ~ BLANKSEPRE) }
`;

/** Serial numbers, GPU UUIDs (redactor.ts serials, gpuUuids). */
const SERIAL_RULES = String.raw`
function seriallines(t,   n, L, i, out, pre, v, l) {
  n = split(t, L, "\n"); out = ""
  for (i = 1; i <= n; i++) {
    l = L[i]
    if (match(tolower(l), /^[ \t]*[a-z ]*serial ?number[ \t]*:[ \t]*/)) {
      pre = substr(l, 1, RLENGTH); v = substr(l, RLENGTH + 1); sub(/[ \t]+$/, "", v)
      if (v != "" && v !~ /^[[:space:]]/ && !(tolower(v) in NOSERIAL)) l = pre serial(v) substr(l, length(pre) + length(v) + 1)
    }
    out = out (i > 1 ? "\n" : "") l
  }
  return out
}
function serials(t) {
  t = seriallines(t)
  t = pv(t, "SerialNumber:[[:space:]]*[^[:space:]]+", "^SerialNumber:[[:space:]]*", 0, 0, 1, 1)
  t = pv(t, "device serial number ${HEX2}-${HEX2}-${HEX2}-${HEX2}-${HEX2}-${HEX2}-${HEX2}-${HEX2}", "^device serial number ", 1, 0, 1, 0)
  return pv(t, "serial=[^,[:space:]]+", "^serial=", 1, 1, 1, 0)
}
function gpuuuids(t,   out, rest, s, l, m, prev, nx, u, pfx) {
  out = ""; rest = t
  while (match(tolower(rest), "(gpu|mig)-${H4}${H4}-${H4}-${H4}-${H4}-${H4}${H4}${H4}")) {
    s = RSTART; l = RLENGTH; m = substr(rest, s, l)
    prev = s > 1 ? substr(rest, s - 1, 1) : (out == "" ? "" : substr(out, length(out), 1))
    nx = substr(rest, s + l, 1)
    if (isword(prev) || isword(nx)) { out = out substr(rest, 1, s); rest = substr(rest, s + 1); continue }
    pfx = substr(m, 1, 3); u = substr(m, 5)
    if (index(tolower(u), UUIDP) != 1) m = pfx "-" ph("gpu-uuid", tolower(pfx "-" u))
    out = out substr(rest, 1, s - 1) m; rest = substr(rest, s + l)
  }
  return out rest
}
`;

/** MAC addresses, public IPv4 and IPv6 (redactor.ts macs, ipv4, ipv6). */
const ADDRESS_RULES = String.raw`
function macs(t) { return baremacs(separatedmacs(t)) }
# 12 hex digits with a letter, the whole of a run of [0-9A-Za-z_.:-]; line by line (linear in the text)
function baremacs(t,   n, L, i, out) {
  if (t !~ H12) return t
  n = split(t, L, "\n"); out = ""
  for (i = 1; i <= n; i++) out = out (i > 1 ? "\n" : "") (L[i] ~ H12 ? baremacline(L[i]) : L[i])
  return out
}
function baremacline(t,   out, pos, n, s, e, m, norm, p) {
  out = ""; pos = 1; n = length(t)
  while (pos <= n && match(substr(t, pos), H12)) {
    s = pos + RSTART - 1; e = s + 12; m = substr(t, s, 12)
    if ((s > 1 && substr(t, s - 1, 1) ~ MACRUN) || substr(t, e, 1) ~ MACRUN || m !~ /[A-Fa-f]/) {
      while (e <= n && substr(t, e, 1) ~ MACRUN) e++
      out = out substr(t, pos, e - pos); pos = e; continue
    }
    norm = tolower(m); norm = substr(norm, 1, 2) ":" substr(norm, 3, 2) ":" substr(norm, 5, 2) ":" substr(norm, 7, 2) ":" substr(norm, 9, 2) ":" substr(norm, 11, 2)
    if (norm != "ff:ff:ff:ff:ff:ff" && index(norm, MACP) != 1) {
      p = ph("mac-address", norm); gsub(/:/, "", p); if (m == toupper(m)) p = toupper(p); m = p
    }
    out = out substr(t, pos, s - pos) m; pos = e
  }
  return out substr(t, pos)
}
function separatedmacs(t,   out, rest, s, m, prev, after, sep, norm, p, first) {
  out = ""; rest = t
  while (match(tolower(rest), "${HEX2}[:-]${HEX2}[:-]${HEX2}[:-]${HEX2}[:-]${HEX2}[:-]${HEX2}")) {
    s = RSTART; m = substr(rest, s, 17)
    prev = s > 1 ? substr(rest, s - 1, 1) : (out == "" ? "" : substr(out, length(out), 1))
    after = substr(rest, s + 17, 2); sep = substr(m, 3, 1)
    if (prev ~ /[0-9A-Fa-f:-]/ || substr(after, 1, 1) ~ /[0-9A-Fa-f]/ || after ~ /^[:-][0-9A-Fa-f]/ || m != substr(m, 1, 2) sep substr(m, 4, 2) sep substr(m, 7, 2) sep substr(m, 10, 2) sep substr(m, 13, 2) sep substr(m, 16, 2)) {
      out = out substr(rest, 1, s); rest = substr(rest, s + 1); continue
    }
    norm = tolower(m); gsub(/-/, ":", norm)
    if (norm != "00:00:00:00:00:00" && norm != "ff:ff:ff:ff:ff:ff" && index(norm, MACP) != 1) {
      p = ph("mac-address", norm); if (sep == "-") gsub(/:/, "-", p)
      first = substr(m, 1, 2)
      if (first == toupper(first) && m ~ /[A-F]/) p = toupper(p)
      m = p
    }
    out = out substr(rest, 1, s - 1) m; rest = substr(rest, s + 17)
  }
  return out rest
}
function publicv4(a, b, c,   i) {
  if (a >= V4RES) return 0
  for (i = 0; i < NV4; i++) if (a == PA[i] && b >= PB0[i] && b <= PB1[i] && c >= PC0[i] && c <= PC1[i]) return 0
  return 1
}
function ipv4(t,   out, rest, s, l, m, prev, nx, o, i, bad) {
  out = ""; rest = t
  while (match(rest, /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/)) {
    s = RSTART; l = RLENGTH; m = substr(rest, s, l)
    prev = s > 1 ? substr(rest, s - 1, 1) : (out == "" ? "" : substr(out, length(out), 1))
    nx = substr(rest, s + l, 1)
    split(m, o, "."); bad = prev ~ /[A-Za-z0-9_.]/ || nx ~ /[A-Za-z0-9_.]/
    for (i = 1; i <= 4; i++) if (length(o[i]) > 3) bad = 1
    if (!bad) {
      for (i = 1; i <= 4; i++) if ((length(o[i]) > 1 && substr(o[i], 1, 1) == "0") || o[i] + 0 > 255) bad = 2
      if (!bad && publicv4(o[1] + 0, o[2] + 0, o[3] + 0)) m = ph("public-ipv4", m)
    }
    out = out substr(rest, 1, s - 1) m; rest = substr(rest, s + l)
  }
  return out rest
}
function isv6(a,   n, g, i, dbl, parts, cnt) {
  if (a ~ /:::/) return 0
  dbl = index(a, "::")
  if (dbl && index(substr(a, dbl + 2), "::")) return 0
  if ((a ~ /^:/ && a !~ /^::/) || (a ~ /:$/ && a !~ /::$/)) return 0
  n = split(a, g, ":"); cnt = 0
  for (i = 1; i <= n; i++) { if (g[i] == "") continue; if (length(g[i]) > 4) return 0; cnt++ }
  return dbl ? cnt <= 7 : cnt == 8
}
function publicv6(a,   f) {
  a = tolower(a)
  if (a == "::" || a == "::1" || index(a, "::ffff:") == 1 || a ~ /^2001:0?db8:/) return 0
  split(a, f, ":"); f[1] = hexval(f[1] == "" ? "0" : f[1])
  return f[1] >= 8192 && f[1] < 16384
}
function ipv6(t,   out, rest, s, l, m, prev, nx, n, g) {
  out = ""; rest = t
  while (match(rest, /[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*/)) {
    s = RSTART; l = RLENGTH; m = substr(rest, s, l)
    prev = s > 1 ? substr(rest, s - 1, 1) : (out == "" ? "" : substr(out, length(out), 1))
    nx = substr(rest, s + l, 1)
    n = split(m, g, ":")
    if (!(prev ~ /[A-Za-z0-9_:.]/) && !isword(nx) && n >= 3 && n <= 8 && m !~ /[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]/ && isv6(m) && (index(m, "::") || n == 8) && publicv6(m))
      m = ph("public-ipv6", tolower(m))
    out = out substr(rest, 1, s - 1) m; rest = substr(rest, s + l)
  }
  return out rest
}
`;

const MAIN = String.raw`
function redact(t, ips) {
  if (t == "") return t
  t = privkeys(t); t = tokens(t); t = serials(t); t = gpuuuids(t); t = macs(t)
  if (ips) { t = ipv4(t); t = ipv6(t) }
  return t
}
function redactfile(mode, path,   t, n, rec) {
  RS = "\001"; t = ""; n = 0
  while ((getline rec < path) > 0) { t = (n++ ? t "\001" : "") rec }
  close(path); RS = "\n"
  if (mode == "serial") t = whole("serial-number", t)
  else if (mode == "secret") t = whole("secret", t)
  else t = redact(t, mode != "noip")
  printf "%s", t > (path ".r")
  close(path ".r")
}
function main(list,   line, mode, path, k) {
  while ((getline line < list) > 0) {
    mode = line; sub(/	.*/, "", mode); path = line; sub(/^[^	]*	/, "", path)
    redactfile(mode, path)
  }
  close(list)
  for (k in KINDS) print k
}
`;

/** The whole awk program (run with `awk -f FILE LIST` in the C locale). */
export function redactAwkProgram(): string {
  return `BEGIN {\n${dataBlock()}\n  main(LIST)\n}\n${HELPERS}${SECRET_RULES}${KEYED_RULES}${SERIAL_RULES}${ADDRESS_RULES}${MAIN}`;
}
