/**
 * `vgpuctl completion bash|zsh|fish`: a shell completion script made from the CLI's own command tree
 * (subcommands, options, which options take a value) and the simulated scenario names. Pure: data in,
 * script text out. Each script walks the words typed so far down the tree (skipping options and the
 * values of options that take one), then offers the subcommands or options of where it stands:
 * host specs after -H/--host, scenario names where a command takes a <scenario>, VM ids and vGPU types
 * from the last inspection (src/cli/last-inspect.ts: the file's "vmids" and "types" lines, read by the
 * shell itself, no vgpuctl started) where a command takes a <vmid> or a <type>, files after other
 * options that take a value.
 */
import { UserError } from "../util/errors.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionNode {
  /** words from the root, e.g. ["vm", "attach"]; [] for vgpuctl itself */
  path: string[];
  subcommands: string[];
  /** every flag spelling, e.g. ["-H", "--host", "--json"] */
  options: string[];
  /** the flags among `options` that take a value */
  valueOptions: string[];
  /** its first argument is a scenario name (`sim reset <scenario>`) */
  takesScenario: boolean;
  /** its first argument is a VM id (`vm attach <vmid>`): offered from the last inspection */
  takesVmid: boolean;
  /** the flags among `valueOptions` whose value is a VM id (`--vm <vmid>`) */
  vmidOptions: string[];
  /** the flags among `valueOptions` whose value is a vGPU type (`--type <type>`) */
  typeOptions: string[];
}

export interface CompletionSpec {
  program: string;
  /** every command, the root first; options of the root apply at every level */
  nodes: CompletionNode[];
  scenarios: string[];
  /** options whose value is a host spec (--host) */
  hostOptions: string[];
}

export function parseShell(name: string): Shell {
  if ((SHELLS as readonly string[]).includes(name)) return name as Shell;
  throw new UserError(
    `unknown shell "${name}"; vgpuctl completes ${SHELLS.join(", ")}`,
    "run e.g. `source <(vgpuctl completion bash)`",
  );
}

/** The host specs offered after --host: fixed kinds plus one sim:NAME per scenario. */
export function hostCandidates(spec: CompletionSpec): string[] {
  return ["local", "demo", "ssh://", "bundle:", ...spec.scenarios.map((s) => `sim:${s}`)];
}

export function completionScript(shell: Shell, spec: CompletionSpec): string {
  switch (shell) {
    case "bash":
      return bashScript(spec);
    case "zsh":
      return zshScript(spec);
    case "fish":
      return fishScript(spec);
  }
}

/** A node's table key: the words from the program on ("vgpuctl vm attach"); never empty (bash needs that). */
const key = (spec: CompletionSpec, node: CompletionNode) => [spec.program, ...node.path].join(" ");
const words = (xs: string[]) => xs.join(" ");
/** A word list inside single quotes: flags, command and scenario names never hold a quote. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** One `[key]='words'` entry per node, for a bash associative array. */
function table(spec: CompletionSpec, pick: (n: CompletionNode) => string[]): string {
  return spec.nodes.map((n) => `  [${sq(key(spec, n))}]=${sq(words(pick(n)))}`).join("\n");
}

/** One `'key' 'words'` pair per node, for a zsh associative array. */
function pairs(spec: CompletionSpec, pick: (n: CompletionNode) => string[]): string {
  return spec.nodes.map((n) => `  ${sq(key(spec, n))} ${sq(words(pick(n)))}`).join("\n");
}

/** "|vgpuctl sim reset| |…|": the nodes `pick` selects, for a shell pattern match. */
function paths(spec: CompletionSpec, pick: (n: CompletionNode) => boolean): string {
  return words(spec.nodes.filter(pick).map((n) => `|${key(spec, n)}|`));
}
const scenarioPaths = (spec: CompletionSpec) => paths(spec, (n) => n.takesScenario);
const vmidPaths = (spec: CompletionSpec) => paths(spec, (n) => n.takesVmid);

/**
 * bash/zsh: `<f>_last vmids|types` prints the words of that line of the last inspection's file
 * (src/cli/last-inspect.ts: $XDG_CACHE_HOME when absolute, else ~/.cache), nothing when there is none.
 */
function lastFunction(f: string, zsh: boolean): string {
  // the line's words: quotes and commas made spaces, then split (zsh splits a parameter only with =)
  const split = zsh ? `\${=\${line//[\\",]/ }}` : `\${line//[\\",]/ }`;
  return `${f}_last() {
  local d=\${XDG_CACHE_HOME-} line
  [[ $d == /* ]] || d=$HOME/.cache
  [[ -r $d/vgpuctl/last-inspect.json ]] || return 0
  while IFS= read -r line; do
    [[ $line == *"\\"$1\\": ["* ]] || continue
    line=\${line#*\\[}
    line=\${line%\\]*}
    printf '%s\\n' ${split}
  done <"$d/vgpuctl/last-inspect.json"
}`;
}

function bashScript(spec: CompletionSpec): string {
  const f = `_${spec.program}`;
  return `# bash completion for ${spec.program}: source <(${spec.program} completion bash)
# or save it as /usr/share/bash-completion/completions/${spec.program}
declare -gA ${f}_subs=(
${table(spec, (n) => n.subcommands)}
)
declare -gA ${f}_opts=(
${table(spec, (n) => n.options)}
)
declare -gA ${f}_vals=(
${table(spec, (n) => n.valueOptions)}
)
declare -gA ${f}_vmid_opts=(
${table(spec, (n) => n.vmidOptions)}
)
declare -gA ${f}_type_opts=(
${table(spec, (n) => n.typeOptions)}
)
${f}_hosts=${sq(words(hostCandidates(spec)))}
${f}_scenarios=${sq(words(spec.scenarios))}
${f}_scenario_cmds=${sq(scenarioPaths(spec))}
${f}_vmid_cmds=${sq(vmidPaths(spec))}

${lastFunction(f, false)}

${f}() {
  local -a words=()
  local i j=-1 w
  # COMP_WORDBREAKS splits sim:NAME and ssh://… at ':'; glue those pieces back into one word
  for ((i = 0; i <= COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((j > 0)) && [[ $w == ":" || \${words[j]} == *: ]]; then words[j]+=$w; else words[++j]=$w; fi
  done
  local cur=\${words[j]} prev="" path=${spec.program} args=0 root=${spec.program}
  ((j > 0)) && prev=\${words[j - 1]}
  for ((i = 1; i < j; i++)); do
    w=\${words[i]}
    if [[ " \${${f}_vals[$path]} \${${f}_vals[$root]} " == *" $w "* ]]; then
      ((i++))
    elif [[ $w != -* ]]; then
      if [[ " \${${f}_subs[$path]} " == *" $w "* ]]; then path="$path $w"; else ((args++)); fi
    fi
  done
  COMPREPLY=()
  if [[ -n $prev && ${sq(` ${words(spec.hostOptions)} `)} == *" $prev "* ]]; then
    COMPREPLY=($(compgen -W "$${f}_hosts" -- "$cur"))
  elif [[ -n $prev && " \${${f}_type_opts[$path]} " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -W "$(${f}_last types)" -- "$cur"))
  elif [[ -n $prev && " \${${f}_vmid_opts[$path]} " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -W "$(${f}_last vmids)" -- "$cur"))
  elif [[ -n $prev && " \${${f}_vals[$path]} \${${f}_vals[$root]} " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ $cur == -* ]]; then
    w=\${${f}_opts[$path]}
    [[ $path == "$root" ]] || w+=" \${${f}_opts[$root]}"
    COMPREPLY=($(compgen -W "$w" -- "$cur"))
  elif [[ -n \${${f}_subs[$path]} ]]; then
    COMPREPLY=($(compgen -W "\${${f}_subs[$path]}" -- "$cur"))
  elif ((args == 0)) && [[ $${f}_scenario_cmds == *"|$path|"* ]]; then
    COMPREPLY=($(compgen -W "$${f}_scenarios" -- "$cur"))
  elif ((args == 0)) && [[ $${f}_vmid_cmds == *"|$path|"* ]]; then
    COMPREPLY=($(compgen -W "$(${f}_last vmids)" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  # bash replaces only the part of the word after the last ':'
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local before=\${cur%"\${cur##*:}"}
    COMPREPLY=("\${COMPREPLY[@]#"$before"}")
  fi
  if ((\${#COMPREPLY[@]} == 1)) && [[ \${COMPREPLY[0]} == *[:/] ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -F ${f} ${spec.program}
`;
}

function zshScript(spec: CompletionSpec): string {
  const f = `_${spec.program}`;
  return `#compdef ${spec.program}
# zsh completion for ${spec.program}: source <(${spec.program} completion zsh)
# or save it as _${spec.program} in a directory of $fpath
typeset -gA ${f}_subs ${f}_opts ${f}_vals
${f}_subs=(
${pairs(spec, (n) => n.subcommands)}
)
${f}_opts=(
${pairs(spec, (n) => n.options)}
)
${f}_vals=(
${pairs(spec, (n) => n.valueOptions)}
)
typeset -gA ${f}_vmid_opts ${f}_type_opts
${f}_vmid_opts=(
${pairs(spec, (n) => n.vmidOptions)}
)
${f}_type_opts=(
${pairs(spec, (n) => n.typeOptions)}
)
typeset -ga ${f}_hosts ${f}_scenarios
${f}_hosts=(${hostCandidates(spec).map(sq).join(" ")})
${f}_scenarios=(${spec.scenarios.map(sq).join(" ")})
typeset -g ${f}_scenario_cmds=${sq(scenarioPaths(spec))}
typeset -g ${f}_vmid_cmds=${sq(vmidPaths(spec))}

${lastFunction(f, true)}

${f}() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} path=${spec.program} root=${spec.program} w
  local -i i args=0
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    if [[ " \${${f}_vals[$path]} \${${f}_vals[$root]} " == *" $w "* ]]; then
      ((i++))
    elif [[ $w != -* ]]; then
      if [[ " \${${f}_subs[$path]} " == *" $w "* ]]; then path="$path $w"; else ((args++)); fi
    fi
  done
  if ((CURRENT > 2)) && [[ ${sq(` ${words(spec.hostOptions)} `)} == *" $prev "* ]]; then
    compadd -S '' -- \${${f}_hosts[@]}
  elif ((CURRENT > 2)) && [[ " \${${f}_type_opts[$path]} " == *" $prev "* ]]; then
    compadd -- $(${f}_last types)
  elif ((CURRENT > 2)) && [[ " \${${f}_vmid_opts[$path]} " == *" $prev "* ]]; then
    compadd -- $(${f}_last vmids)
  elif ((CURRENT > 2)) && [[ " \${${f}_vals[$path]} \${${f}_vals[$root]} " == *" $prev "* ]]; then
    _files
  elif [[ $cur == -* ]]; then
    w=\${${f}_opts[$path]}
    [[ $path == "$root" ]] || w+=" \${${f}_opts[$root]}"
    compadd -- \${=w}
  elif [[ -n \${${f}_subs[$path]} ]]; then
    compadd -- \${=${f}_subs[$path]}
  elif ((args == 0)) && [[ $${f}_scenario_cmds == *"|$path|"* ]]; then
    compadd -- \${${f}_scenarios[@]}
  elif ((args == 0)) && [[ $${f}_vmid_cmds == *"|$path|"* ]]; then
    compadd -- $(${f}_last vmids)
  else
    _files
  fi
}
if (( $+functions[compdef] )); then compdef ${f} ${spec.program}; fi
`;
}

function fishScript(spec: CompletionSpec): string {
  const f = `__${spec.program}`;
  const cases = (pick: (n: CompletionNode) => string[]) =>
    spec.nodes
      .map((n) => `        case ${sq(key(spec, n))}\n            echo ${sq(words(pick(n)))}`)
      .join("\n");
  const tables: Array<[string, (n: CompletionNode) => string[]]> = [
    ["subs", (n) => n.subcommands],
    ["opts", (n) => n.options],
    ["vals", (n) => n.valueOptions],
    ["vmidopts", (n) => n.vmidOptions],
    ["typeopts", (n) => n.typeOptions],
  ];
  const switchWhat = tables
    .map(([what, pick]) => `    case ${what}\n        switch $path\n${cases(pick)}\n        end`)
    .join("\n");
  return `# fish completion for ${spec.program}: ${spec.program} completion fish | source
# or save it as ~/.config/fish/completions/${spec.program}.fish
function ${f}_table --argument-names what path
    switch $what
${switchWhat}
    end
end

# VM ids or vGPU types ($what: vmids | types) from the last \`${spec.program} inspect\` (its cache file)
function ${f}_last --argument-names what
    set -l d "$XDG_CACHE_HOME"
    string match -q -- '/*' "$d"; or set d $HOME/.cache
    test -r $d/vgpuctl/last-inspect.json; or return 0
    string replace -rf -- '^\\s*"'$what'": \\[(.*)\\],?$' '$1' <$d/vgpuctl/last-inspect.json | string split -n , | string trim -c '"'
end

function ${f}_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l path ${spec.program}
    set -l args 0
    set -l skip 0
    set -l prev ''
    for w in $tokens[2..-1]
        set prev $w
        if test $skip -eq 1
            set skip 0
            continue
        end
        if contains -- $w (string split ' ' -- (${f}_table vals $path) (${f}_table vals ${spec.program}))
            set skip 1
        else if not string match -q -- '-*' $w
            if contains -- $w (string split ' ' -- (${f}_table subs $path))
                set path "$path $w"
            else
                set args (math $args + 1)
            end
        end
    end
    if test $skip -eq 1; and contains -- $prev ${words(spec.hostOptions)}
        printf '%s\\n' ${words(hostCandidates(spec).map(sq))}
    else if test $skip -eq 1; and contains -- $prev (string split ' ' -- (${f}_table typeopts $path))
        ${f}_last types
    else if test $skip -eq 1; and contains -- $prev (string split ' ' -- (${f}_table vmidopts $path))
        ${f}_last vmids
    else if test $skip -eq 1
        __fish_complete_path $cur
    else if string match -q -- '-*' $cur
        string split ' ' -- (${f}_table opts $path)
        test "$path" = ${spec.program}; or string split ' ' -- (${f}_table opts ${spec.program})
    else if test -n "$(${f}_table subs $path)"
        string split ' ' -- (${f}_table subs $path)
    else if test $args -eq 0; and string match -q -- "*|$path|*" ${sq(scenarioPaths(spec))}
        printf '%s\\n' ${words(spec.scenarios.map(sq))}
    else if test $args -eq 0; and string match -q -- "*|$path|*" ${sq(vmidPaths(spec))}
        ${f}_last vmids
    else
        __fish_complete_path $cur
    end
end
complete -c ${spec.program} -f -a '(${f}_complete)'
`;
}
