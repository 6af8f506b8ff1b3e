/**
 * node:crypto, loaded when first used: loading it costs about as much as a third of `node -e 0`
 * (callgrind: +12.6 M instructions on 86 M), and the simulator only hashes a few strings, often not at
 * all, so `inspect --host demo` should not pay for it at start (issue 16). createRequire works the same
 * from the TypeScript sources (ES modules), the bundle and the single executable; any absolute path
 * serves as its base for a built-in module.
 */
import { createRequire } from "node:module";

type NodeCrypto = typeof import("node:crypto");
let loaded: NodeCrypto | undefined;

export function nodeCrypto(): NodeCrypto {
  loaded ??= createRequire(process.execPath)("node:crypto") as NodeCrypto;
  return loaded;
}
