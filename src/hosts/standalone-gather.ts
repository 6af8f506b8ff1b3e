/**
 * `vgpuctl gather-script`: one POSIX sh script for a host without vgpuctl (and without Node). Run in
 * any folder, it captures what `support-bundle` captures (GATHER_SPEC, through the same gather script
 * the ssh host runs: gather-script.ts), turns the stream into bundle files (an awk program mirroring
 * parseGatherOutput), redacts them with the awk redactor (src/redact/awk.ts, same rules as
 * redactCapture) before anything is packed, writes a `vgpuctl-bundle/1` .tar.gz into the folder and
 * prints its path as the last line. VGPUCTL_GATHER_ROOT (tests) prefixes every file path read.
 */
import {
  BUNDLE_FORMAT,
  type CaptureSpec,
  formatCommand,
  MAX_FILE_BYTES,
  NOT_INSTALLED_EXIT,
} from "../facts/capture.ts";
import { awkString, redactAwkProgram } from "../redact/awk.ts";
import { redactionMode, SECRET_FILE_PATTERN, WHOLE_FILE_PATTERN } from "../redact/rules.ts";
import { commandSlug } from "./bundle/bundle-io.ts";
import { GATHER_COMMAND_TIMEOUT_S, gatherScript } from "./gather-script.ts";

/**
 * The boundary the script is printed with. It is printed in every script, so a captured file could
 * hold it on purpose and forge or cut records: the script replaces it by a random one when it runs
 * (GB, from /dev/urandom) and refuses to run without one.
 */
const BOUNDARY = "VGPUCTLGATHER5f0c2a9e8b7d4c3a1f6e2d9c8b7a6f5e";

/** Per command of the spec: its bundle file name (deduplicated like bundleEntries), JSON line, redaction mode. */
function commandTable(spec: CaptureSpec): string[] {
  const used = new Set<string>();
  return spec.commands.map((argv, i) => {
    const cmd = formatCommand(argv);
    let name = `commands/${commandSlug(cmd)}.txt`;
    for (let n = 2; used.has(name); n++) name = `commands/${commandSlug(cmd)}-${n}.txt`;
    used.add(name);
    return `  NAME[${i}] = ${awkString(name)}; CMD[${i}] = ${awkString(JSON.stringify(cmd))}; MODE[${i}] = ${awkString(redactionMode({ cmd }))}`;
  });
}

/**
 * The stream of the gather script → bundle files under $W/b, and under $W/m: `commands` (index, exit
 * code), `files` (MODE<TAB>host path, sorted later), `captured`, `unreadable`, `notes`.
 */
function assembleAwk(spec: CaptureSpec): string {
  return String.raw`BEGIN {
  MAXB = ${MAX_FILE_BYTES}; NOTINST = ${NOT_INSTALLED_EXIT}
${commandTable(spec).join("\n")}
  kind = ""; n = 0
}
function strip(p) { return (ROOT != "" && index(p, ROOT) == 1) ? substr(p, length(ROOT) + 1) : p }
function q(s) { gsub(/'/, "'\\''", s); return "'" s "'" }
function put(rel, text,   dir) {
  dir = W "/b/" rel; sub(/\/[^\/]*$/, "", dir); system("mkdir -p " q(dir))
  printf "%s", text > (W "/b/" rel); close(W "/b/" rel)
}
function finish(code,   text, cmd, p) {
  text = ""; for (i = 1; i <= n; i++) text = text (i > 1 ? "\n" : "") L[i]
  if (kind == "C") {
    cmd = CMD[arg]; p = substr(cmd, 2, length(cmd) - 2)
    if (code == NOTINST) { print "not installed on the host: " p > (W "/m/notes"); return }
    put(NAME[arg], text); print arg "\t" code > (W "/m/commands"); print MODE[arg] "\t" W "/b/" NAME[arg] > (W "/m/redact")
    if (code == 124) print p " timed out after ${GATHER_COMMAND_TIMEOUT_S}s" > (W "/m/notes")
  } else if (kind == "F") {
    p = strip(arg)
    if (code != 0) { print p > (W "/m/unreadable"); return }
    if (length(text) > MAXB) { print p " truncated to " MAXB " bytes" > (W "/m/notes"); text = substr(text, 1, MAXB) }
    put("files" p, text)
    print (p ~ ${awkString(WHOLE_FILE_PATTERN)} ? "serial" : p ~ ${awkString(SECRET_FILE_PATTERN)} ? "secret" : "text") "\t" W "/b/files" p > (W "/m/files")
  }
}
index($0, B " ") == 1 {
  k = substr($0, length(B) + 2, 1); a = substr($0, length(B) + 4)
  if (k == "E") { finish(a + 0); kind = ""; next }
  if (k == "C" || k == "F") { kind = k; arg = a; n = 0; next }
  if (k == "N") print strip(a) > (W "/m/captured")
  if (k == "U") print strip(a) > (W "/m/unreadable")
  if (k == "Z") print "complete" > (W "/m/complete")
  next
}
kind != "" { L[++n] = $0 }
`;
}

/** JSON strings and lists in awk, for bundle.json. */
const JSON_AWK = String.raw`
function js(s,   out, i, c) {
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\" || c == "\"") out = out "\\" c
    else if (c == "\n") out = out "\\n"
    else if (c == "\t") out = out "\\t"
    else if (c < " ") out = out sprintf("\\u%04x", index(CTRL, c))
    else out = out c
  }
  return "\"" out "\""
}
function jlist(file,   line, out, n) {
  out = ""; n = 0
  while ((getline line < file) > 0) out = out (n++ ? ", " : "") js(line)
  close(file)
  return "[" out "]"
}
`;

function bundleJsonAwk(spec: CaptureSpec): string {
  return String.raw`BEGIN {
  for (i = 1; i < 32; i++) CTRL = CTRL sprintf("%c", i)
${commandTable(spec).join("\n")}
  printf "{\n  \"format\": \"${BUNDLE_FORMAT}\",\n  \"host\": %s,\n  \"capturedAt\": %s,\n  \"commands\": [", js(HOST), js(AT)
  n = 0
  while ((getline line < (W "/m/commands")) > 0) {
    split(line, f, "\t")
    printf "%s\n    { \"cmd\": %s, \"stdout\": %s, \"exitCode\": %d }", (n++ ? "," : ""), CMD[f[1]], js(NAME[f[1]]), f[2]
  }
  printf "\n  ],\n  \"capturedPaths\": %s,\n", jlist(W "/m/paths")
  u = jlist(W "/m/unreadable.sorted")
  if (u != "[]") printf "  \"unreadable\": %s,\n", u
  printf "  \"redacted\": %s,\n  \"notes\": %s\n}\n", jlist(W "/m/kinds"), jlist(W "/m/notes.redacted")
}
${JSON_AWK}`;
}

/** The sh around the pieces: temp folder, capture, assemble, redact, bundle.json, pack, print the path. */
function driver(spec: CaptureSpec): string {
  const paths = spec.paths.join("\n");
  return `
echo "vgpuctl gather: capturing (read-only; up to a minute)…" >&2
R=\${VGPUCTL_GATHER_ROOT:-}; export R
GB=VGPUCTL$(od -An -N16 -tx1 /dev/urandom 2>/dev/null | tr -dc '0-9a-f')
[ \${#GB} -eq 39 ] || { echo "vgpuctl gather: cannot read /dev/urandom for a record boundary; nothing written" >&2; exit 1; }
sed "s/^B=${BOUNDARY}\\$/B=$GB/" "$W/gather.sh" > "$W/gather.run"
sh "$W/gather.run" > "$W/stream" 2>/dev/null
mkdir -p "$W/b/commands" "$W/b/files" "$W/m"
: > "$W/m/commands"; : > "$W/m/files"; : > "$W/m/captured"; : > "$W/m/unreadable"; : > "$W/m/notes"; : > "$W/m/redact"
awk -v W="$W" -v ROOT="$R" -v B="$GB" -f "$W/assemble.awk" "$W/stream" || { echo "vgpuctl gather: could not read the capture" >&2; exit 1; }
{ cat <<'VGPUCTL_PATHS'
${paths}
VGPUCTL_PATHS
cat "$W/m/captured"; } > "$W/m/paths"
sort -u "$W/m/unreadable" > "$W/m/unreadable.sorted"
while IFS= read -r x; do echo "could not read $x" >> "$W/m/notes"; done < "$W/m/unreadable.sorted"
[ -f "$W/m/complete" ] || echo "gather output incomplete: the gather script did not finish" >> "$W/m/notes"
sort -t "$(printf '\\t')" -k2 "$W/m/files" >> "$W/m/redact"
i=0; : > "$W/m/notes.list"
while IFS= read -r x; do i=$((i+1)); printf '%s' "$x" > "$W/m/note.$i"; printf 'text\\t%s\\n' "$W/m/note.$i" >> "$W/m/redact"; echo "$W/m/note.$i" >> "$W/m/notes.list"; done < "$W/m/notes"
awk -v LIST="$W/m/redact" -f "$W/redact.awk" | sort > "$W/m/kinds" || { echo "vgpuctl gather: redaction failed; nothing written" >&2; exit 1; }
TAB=$(printf '\\t')
# the path is everything after the first tab (a name may hold tabs, even at its end)
while IFS= read -r x; do f=\${x#*"$TAB"}; mv "$f.r" "$f" || { echo "vgpuctl gather: redaction failed; nothing written" >&2; exit 1; }; done < "$W/m/redact"
: > "$W/m/notes.redacted"; while IFS= read -r f; do cat "$f" >> "$W/m/notes.redacted"; echo >> "$W/m/notes.redacted"; done < "$W/m/notes.list"
H=$(hostname 2>/dev/null || uname -n); AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
awk -v W="$W" -v HOST="$H" -v AT="$AT" -f "$W/json.awk" > "$W/b/bundle.json"
NAME="vgpuctl-bundle-$(printf '%s' "$H" | tr -c 'A-Za-z0-9._-' '_')-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
(cd "$W/b" && tar -czf "$W/out.tar.gz" bundle.json commands files) || { echo "vgpuctl gather: tar failed; nothing written" >&2; exit 1; }
mv "$W/out.tar.gz" "$OUT_DIR/$NAME" || exit 1
echo "vgpuctl gather: done. Share this file (secrets, MACs, serials and public IPs are replaced):" >&2
echo "$OUT_DIR/$NAME"
`;
}

/** A here-document writing `text` to `$W/name` (the delimiter never occurs in generated text). */
function embed(name: string, text: string): string {
  return `cat > "$W/${name}" <<'VGPUCTL_EOF_${name.replace(/\W/g, "_")}'\n${text}\nVGPUCTL_EOF_${name.replace(/\W/g, "_")}\n`;
}

export function standaloneGatherScript(spec: CaptureSpec): string {
  const head = `#!/bin/sh
# vgpuctl gather-script: run as root on the Proxmox VE host (no vgpuctl or Node needed), in any folder:
#   sh vgpuctl-gather.sh
# Reads only. Writes one redacted support bundle (${BUNDLE_FORMAT}, .tar.gz) into the current folder
# and prints its path last. Replay it with: vgpuctl doctor --host bundle:FILE
set -u
umask 077
LC_ALL=C; export LC_ALL
OUT_DIR=$(pwd)
W=$(mktemp -d "\${TMPDIR:-/tmp}/vgpuctl-gather.XXXXXX") || { echo "vgpuctl gather: cannot create a temporary folder" >&2; exit 1; }
trap 'rm -rf "$W"' EXIT
trap 'exit 1' HUP INT TERM
`;
  return [
    head,
    embed("gather.sh", gatherScript(spec, BOUNDARY, { rootVar: "R" })),
    embed("assemble.awk", assembleAwk(spec)),
    embed("redact.awk", redactAwkProgram()),
    embed("json.awk", bundleJsonAwk(spec)),
    driver(spec),
  ].join("");
}
