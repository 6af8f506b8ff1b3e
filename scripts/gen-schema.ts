// Writes schema.json (the published JSON Schema of vgpu.yaml) from the valibot schema.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { desiredJsonSchemaText } from "../src/desired/json-schema.ts";

const file = join(import.meta.dirname, "..", "schema.json");
writeFileSync(file, desiredJsonSchemaText());
process.stdout.write(`wrote ${file}\n`);
