// Entry of the single-file bundle (dist/vgpuctl.cjs).
import { main } from "./main.ts";

main(process.argv).then((code) => {
  process.exitCode = code;
});
