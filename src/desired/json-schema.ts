/**
 * schema.json (the published JSON Schema of vgpu.yaml) is generated from the valibot schema.
 * Regenerate: `npm run gen:schema` (scripts/gen-schema.ts; a test fails when it is stale).
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import { DesiredSchema } from "./schema.ts";

export function desiredJsonSchema(): Record<string, unknown> {
  // `check`/`toLowerCase` actions have no JSON Schema form: they are enforced by vgpuctl itself.
  const schema = toJsonSchema(DesiredSchema, { errorMode: "ignore" }) as Record<string, unknown>;
  return { ...schema, title: "vgpuctl desired state (vgpu.yaml)" };
}

export function desiredJsonSchemaText(): string {
  return `${JSON.stringify(desiredJsonSchema(), null, 2)}\n`;
}
