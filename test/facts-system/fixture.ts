import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../fixtures/facts-system/", import.meta.url));

/** Text of a fixture in test/fixtures/facts-system (see SOURCES.md there). */
export function fixture(name: string): string {
  return readFileSync(dir + name, "utf8");
}
