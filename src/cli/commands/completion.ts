import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import {
  type CompletionNode,
  type CompletionSpec,
  completionScript,
  parseShell,
  SHELLS,
} from "../../commands/completion.ts";
import type { CliContext } from "../context.ts";
import type { Registrar } from "./index.ts";

export const registerCompletion: Registrar = (program, ctx) => {
  program
    .command("completion")
    .description(
      "print a shell completion script (bash: source <(vgpuctl completion bash); zsh; fish: vgpuctl completion fish | source)",
    )
    .argument("<shell>", SHELLS.join(" | "))
    .action(async (shell) => {
      ctx.out(completionScript(parseShell(shell), await completionSpec(ctx)));
    });
};

/** The whole command tree (every subcommand loaded, whatever this run loaded) and the scenario names. */
async function completionSpec(ctx: CliContext): Promise<CompletionSpec> {
  const [{ buildProgram }, { listScenarios }] = await Promise.all([
    import("../main.ts"),
    import("../../hosts/sim/sim-host.ts"),
  ]);
  const program = buildProgram(ctx, () => {});
  const root = program as unknown as CommandUnknownOpts;
  return {
    program: program.name(),
    nodes: describeTree(root, []),
    scenarios: listScenarios().map((s) => s.name),
    hostOptions: flagsOf(root, "host"),
  };
}

function describeTree(cmd: CommandUnknownOpts, path: string[]): CompletionNode[] {
  const node: CompletionNode = {
    path,
    subcommands: cmd.commands.map((c) => c.name()),
    // the root's options (with -h/--help) are offered at every level too
    options: [
      ...cmd.options.filter((o) => !o.hidden).flatMap(spellings),
      ...(path.length ? [] : ["-h", "--help"]),
    ],
    valueOptions: cmd.options.filter((o) => o.required || o.optional).flatMap(spellings),
    takesScenario: cmd.registeredArguments[0]?.name() === "scenario",
    takesVmid: cmd.registeredArguments[0]?.name() === "vmid",
    vmidOptions: cmd.options.filter((o) => o.flags.endsWith(" <vmid>")).flatMap(spellings),
    typeOptions: cmd.options.filter((o) => o.flags.endsWith(" <type>")).flatMap(spellings),
  };
  return [node, ...cmd.commands.flatMap((c) => describeTree(c, [...path, c.name()]))];
}

function spellings(o: { short?: string; long?: string }): string[] {
  return [o.short, o.long].filter((f): f is string => Boolean(f));
}

function flagsOf(cmd: CommandUnknownOpts, name: string): string[] {
  const option = cmd.options.find((o) => o.attributeName() === name);
  return option ? spellings(option) : [];
}
