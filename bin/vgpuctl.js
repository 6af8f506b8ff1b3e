#!/usr/bin/env node
// Runs the TypeScript sources directly (via tsx) so `npx vgpuctl` works right after `npm ci`.
// `npm run build` produces dist/vgpuctl.cjs, a single file that needs only node.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
