// Entry point of the sim-shell bundle (see sim-shell.ts); bundled by the ssh tests and bench/apply.ts.
import { simShellMain } from "./sim-shell.ts";

simShellMain().catch((e: unknown) => {
  process.stderr.write(`sim-shell: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 70;
});
