// Writes docs/finding-codes.md (the finding-code reference) from src/report/finding-codes.ts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { findingCodesMarkdown } from "../src/report/finding-codes.ts";

const file = join(import.meta.dirname, "..", "docs", "finding-codes.md");
writeFileSync(file, findingCodesMarkdown());
process.stdout.write(`wrote ${file}\n`);
