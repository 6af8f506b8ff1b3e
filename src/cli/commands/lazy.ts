/**
 * The subcommands as the built CLI loads them (entry.ts): only the one argv names, so
 * `vgpuctl --version` loads none and `vgpuctl inspect` never loads the Proxmox VE API client,
 * the dashboard or the desired-state code. Same names and order as index.ts (test/install checks).
 */
import type { Registrar } from "./index.ts";

export const LAZY_COMMANDS: ReadonlyArray<{ name: string; load: () => Promise<Registrar> }> = [
  { name: "inspect", load: async () => (await import("./inspect.ts")).registerInspect },
  { name: "doctor", load: async () => (await import("./doctor.ts")).registerDoctor },
  { name: "support-bundle", load: async () => (await import("./support-bundle.ts")).registerSupportBundle },
  { name: "gather-script", load: async () => (await import("./gather-script.ts")).registerGatherScript },
  { name: "init", load: async () => (await import("./init.ts")).registerInit },
  { name: "plan", load: async () => (await import("./plan.ts")).registerPlan },
  { name: "apply", load: async () => (await import("./apply.ts")).registerApply },
  { name: "place", load: async () => (await import("./place.ts")).registerPlace },
  { name: "uninstall", load: async () => (await import("./uninstall.ts")).registerUninstall },
  { name: "override", load: async () => (await import("./override.ts")).registerOverride },
  { name: "profile", load: async () => (await import("./profile.ts")).registerProfile },
  { name: "vm", load: async () => (await import("./vm.ts")).registerVm },
  { name: "dashboard", load: async () => (await import("./dashboard.ts")).registerDashboard },
  { name: "catalog", load: async () => (await import("./catalog.ts")).registerCatalog },
  { name: "sim", load: async () => (await import("./sim.ts")).registerSim },
  { name: "completion", load: async () => (await import("./completion.ts")).registerCompletion },
];

/** Options of the top-level program that take a value (their value is not the subcommand). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(["-H", "--host", "--root"]);

/** The subcommand argv names (the first word that is not a global option or its value). */
export function subcommandIn(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") return argv[i + 1];
    if (GLOBAL_OPTIONS_WITH_VALUE.has(word)) i++;
    else if (!word.startsWith("-")) return word;
  }
  return undefined;
}

/**
 * The registrars a run needs: the named subcommand's alone; none for a bare `--version`;
 * all of them for help, no subcommand or an unknown one (commander lists or suggests them).
 */
export async function registrarsFor(argv: readonly string[]): Promise<Registrar[]> {
  const name = subcommandIn(argv);
  const named = LAZY_COMMANDS.find((c) => c.name === name);
  if (named) return [await named.load()];
  if (name === undefined && argv.some((a) => a === "-V" || a === "--version")) return [];
  return Promise.all(LAZY_COMMANDS.map((c) => c.load()));
}
