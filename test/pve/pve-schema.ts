/**
 * Checks a request against the Proxmox VE API parameter schema (test/fixtures/pve/api-schema.json, made by
 * scripts/extract-pve-api-schema.ts) the way the API server does it, so the double refuses what a real
 * cluster would refuse. Each step follows the Perl code it names:
 * - route lookup: pve-common `PVE::RESTHandler::find_handler` (`{name}` segments match `\S+`); none →
 *   501 "Method 'GET /x' not implemented" (pve-manager `PVE::HTTPServer::rest_handler`);
 * - parameters: pve-http-server `PVE::APIServer::AnyEvent::extract_params` / `decode_urlencoded` (form body for
 *   POST/PUT, then the query; `split(/[&;]/)`, `split(/=/)` drops an empty value, repeated keys → array);
 *   a URI parameter repeated with another value → "duplicate parameter (already defined in URI) …";
 * - `$normalize_legacy_param_formats` of `PVE::RESTHandler::handle` (one value of an array parameter → [value],
 *   an array for a `-list` format → joined with ',');
 * - validation: pve-common `PVE::JSONSchema::validate` / `check_prop` / `check_type` / `check_format` /
 *   `parse_property_string` / `check_object`, with their error texts; errors are collected per parameter and
 *   answered as 400 "Parameter verification failed." (`raise_param_exc`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Schema = {
  type?: string;
  format?: string | Record<string, Schema>;
  pattern?: string;
  enum?: string[];
  optional?: number;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  default_key?: number;
  alias?: string;
  requires?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: number;
};

type Format =
  | { kind: "property-string"; properties: Record<string, Schema> }
  | { kind: "regex"; pattern: string; flags: string; message: string }
  | { kind: "any" }
  | { kind: "not-extracted" };

export interface ApiSchema {
  sources: Array<{ repo: string; commit: string; version: string; files: string[] }>;
  indexed: Record<string, number>;
  endpoints: Record<string, { allowtoken: number; parameters: Schema }>;
  formats: Record<string, Format>;
}

export type ParamValue = string | string[] | undefined;
export type Params = Record<string, ParamValue>;
export type Errors = Record<string, string>;

export function loadApiSchema(): ApiSchema {
  const file = join(import.meta.dirname, "..", "fixtures", "pve", "api-schema.json");
  return JSON.parse(readFileSync(file, "utf8")) as ApiSchema;
}

/** A Perl die with a message and per-parameter errors (PVE::Exception). */
class PerlError extends Error {
  constructor(
    message: string,
    readonly errors: Errors | null = null,
  ) {
    super(message);
  }
  /** PVE::Exception::stringify: the message, then one "param: error" line per error */
  override toString(): string {
    const lines = Object.entries(this.errors ?? {}).map(([k, v]) => `${k}: ${v}\n`);
    return this.message + lines.join("");
  }
}

/** Perl regex text as JavaScript: `(?^:…)` (qr// with default flags) becomes a plain group. */
function jsRegex(perl: string, flags = ""): RegExp {
  if (/\(\?\^?[a-z]+:/.test(perl)) throw new Error(`fake-pve: regex flags inside ${perl} not supported`);
  return new RegExp(perl.replace(/\(\?\^:/g, "(?:"), flags);
}

/** check_prop's `$value !~ m/^$pattern$/`: interpolated without a group, as Perl does. */
function matchesPattern(value: string, pattern: string): boolean {
  return jsRegex(`^${pattern}$`).test(value);
}

/** pve-http-server decode_urlencoded */
export function decodeUrlencoded(data: string): Params {
  const res: Params = {};
  if (!data) return res;
  const dec = (s: string) =>
    Buffer.from(
      s
        .replace(/\+/g, " ")
        .replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      "latin1",
    ).toString("utf8");
  for (const kv of data.split(/[&;]/)) {
    // Perl split drops trailing empty fields: "k=" gives only "k", so the value is undef
    const fields = kv.split("=");
    while (fields.length > 0 && fields[fields.length - 1] === "") fields.pop();
    if (fields.length === 0) continue;
    const k = dec(fields[0]!);
    let v: ParamValue = fields.length > 1 ? dec(fields[1]!) : undefined;
    if (v !== undefined) {
      const old = res[k];
      if (Array.isArray(old)) v = [...old, v];
      else if (old !== undefined) v = [old, v];
    }
    res[k] = v;
  }
  return res;
}

/** pve-common PVE::Tools::split_list */
function splitList(text: string): string[] {
  if (text.includes("\0")) return text.split("\0");
  const fields = text.replace(/[,;]/g, " ").replace(/^\s+/, "").split(/\s+/);
  while (fields.length > 0 && fields[fields.length - 1] === "") fields.pop();
  return fields;
}

function addError(errors: Errors, path: string, msg: string): void {
  const p = path || "_root";
  // add_error joins with '\n' in single quotes: a literal backslash-n
  errors[p] = errors[p] ? `${errors[p]}\\n${msg}` : msg;
}

/** parse_boolean */
function parseBoolean(v: string): string | null {
  if (/^(1|on|yes|true)$/i.test(v)) return "1";
  if (/^(0|off|no|false)$/i.test(v)) return "0";
  return null;
}

export class SchemaValidator {
  constructor(readonly schema: ApiSchema) {}

  /** Route lookup; null when no endpoint of the fixture matches (vgpuctl would call an unknown endpoint). */
  route(method: string, relPath: string): { key: string; uriParams: Record<string, string> } | null {
    const parts = relPath.split("/").filter((s) => s.length > 0);
    for (const key of Object.keys(this.schema.endpoints)) {
      const [m, template] = key.split(" ") as [string, string];
      if (m !== method) continue;
      const tparts = template.split("/").filter((s) => s.length > 0);
      if (tparts.length !== parts.length) continue;
      const uriParams: Record<string, string> = {};
      const ok = tparts.every((t, i) => {
        const name = /^\{([\w-]+)\}$/.exec(t)?.[1];
        if (!name) return t === parts[i];
        if (!/^\S+$/.test(parts[i]!)) return false;
        uriParams[name] = parts[i]!;
        return true;
      });
      if (ok) return { key, uriParams };
    }
    return null;
  }

  /** All parameter errors of a request to `key` (empty = PVE would accept the parameters). */
  validate(key: string, uriParams: Record<string, string>, params: Params): Errors {
    const endpoint = this.schema.endpoints[key];
    if (!endpoint) throw new Error(`fake-pve: ${key} is not in the schema fixture`);
    const all: Params = { ...uriParams };
    for (const [k, v] of Object.entries(params).sort(([a], [b]) => a.localeCompare(b))) {
      if (uriParams[k] !== undefined && uriParams[k] !== v)
        return { [k]: "duplicate parameter (already defined in URI) with conflicting values!" };
      all[k] = v;
    }
    const schema = endpoint.parameters;
    const normalized = this.normalizeLegacy(all, schema);
    const errors: Errors = {};
    this.checkObject(
      "",
      this.expandIndexed(schema.properties ?? {}, normalized),
      normalized,
      schema.additionalProperties,
      errors,
    );
    return errors;
  }

  /** `hostpci[n]` of the api dump stands for hostpci0…hostpci{N-1} */
  private expandIndexed(props: Record<string, Schema>, value: Params): Record<string, Schema> {
    const out: Record<string, Schema> = {};
    for (const [k, s] of Object.entries(props)) if (!k.endsWith("[n]")) out[k] = s;
    for (const k of Object.keys(value)) {
      const m = /^([a-z]+)(\d+)$/.exec(k);
      const indexed = m ? props[`${m[1]}[n]`] : undefined;
      if (!m || !indexed) continue;
      const max = this.schema.indexed[m[1]!];
      if (max === undefined || Number(m[2]) < max) out[k] = indexed;
    }
    return out;
  }

  private normalizeLegacy(params: Params, schema: Schema): Params {
    const out: Params = { ...params };
    for (const [k, v] of Object.entries(out)) {
      const prop = schema.properties?.[k] ?? schema.properties?.[k.replace(/\d+$/, "[n]")];
      if (!prop || !v) continue;
      if (
        Array.isArray(v) &&
        prop.type === "string" &&
        typeof prop.format === "string" &&
        prop.format.endsWith("-list")
      )
        out[k] = v.join(",");
      else if (!Array.isArray(v) && prop.type === "array") out[k] = [v];
    }
    return out;
  }

  private checkObject(
    path: string,
    props: Record<string, Schema>,
    value: Record<string, unknown>,
    additional: number | undefined,
    errors: Errors,
  ): void {
    const join = (k: string) => (path ? `${path}.${k}` : k);
    for (const [k, s] of Object.entries(props)) this.checkProp(value[k], s, join(k), errors);
    for (const k of Object.keys(value)) {
      const s = props[k];
      if (s) {
        if (s.requires && value[s.requires] === undefined)
          addError(errors, join(s.requires), `missing property required by '${join(k)}'`);
        continue;
      }
      if (additional !== undefined && !additional)
        addError(
          errors,
          join(k),
          "property is not defined in schema and the schema does not allow additional properties",
        );
    }
  }

  private checkProp(value: unknown, schema: Schema, path: string, errors: Errors): void {
    if (schema.alias) return;
    if (value === undefined || value === null) {
      if (!schema.optional) addError(errors, path, "property is missing and it is not optional");
      return;
    }
    if (!this.checkType(path, schema.type, value, errors)) return;
    if (Array.isArray(value)) {
      const items = schema.items;
      if (items) for (const [i, el] of value.entries()) this.checkProp(el, items, `${path}[${i}]`, errors);
      return;
    }
    const v = String(value);
    if (schema.format) {
      try {
        this.checkFormat(schema.format, v, path);
      } catch (e) {
        if (!(e instanceof PerlError)) throw e;
        addError(errors, path, `invalid format - ${e.toString()}`);
        return;
      }
    }
    if (schema.pattern && !matchesPattern(v, schema.pattern)) {
      addError(errors, path, "value does not match the regex pattern");
      return;
    }
    if (schema.maxLength !== undefined && v.length > schema.maxLength) {
      addError(errors, path, `value may only be ${schema.maxLength} characters long`);
      return;
    }
    if (schema.minLength !== undefined && v.length < schema.minLength) {
      addError(errors, path, `value must be at least ${schema.minLength} characters long`);
      return;
    }
    if (/^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v)) {
      if (schema.maximum !== undefined && Number(v) > schema.maximum) {
        addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
        return;
      }
      if (schema.minimum !== undefined && Number(v) < schema.minimum) {
        addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
        return;
      }
    }
    if (schema.enum && !schema.enum.includes(v))
      addError(
        errors,
        path,
        `value '${v}' does not have a value in the enumeration '${schema.enum.join(", ")}'`,
      );
  }

  /** check_type for values as they arrive in a form body: strings (booleans must be exactly 0 or 1) */
  private checkType(path: string, type: string | undefined, value: unknown, errors: Errors): boolean {
    if (!type || type === "any" || type === "string") {
      if (Array.isArray(value) && type === "string") {
        addError(errors, path, "type check ('string') failed - got ARRAY");
        return false;
      }
      return true;
    }
    if (type === "array") {
      if (Array.isArray(value)) return true;
      addError(errors, path, "type check ('array') failed");
      return false;
    }
    if (Array.isArray(value)) {
      addError(errors, path, `type check ('${type}') failed - got ARRAY`);
      return false;
    }
    const v = String(value);
    const ok =
      type === "boolean"
        ? v === "1" || v === "0"
        : type === "integer"
          ? /^[+-]?\d+$/.test(v)
          : type === "number"
            ? /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v)
            : true;
    if (!ok) addError(errors, path, `type check ('${type}') failed - got '${v}'`);
    return ok;
  }

  /** check_format: a property-string hash, or a registered format name with an optional -list / -opt */
  private checkFormat(format: string | Record<string, Schema>, value: string, path: string): void {
    if (typeof format !== "string") {
      this.parsePropertyString(format, value, path);
      return;
    }
    const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
    const name = m[1]!;
    const kind = m[2] ?? "none";
    const registered = this.schema.formats[name];
    if (!registered) throw new PerlError(`undefined format '${format}'\n`);
    const one = (v: string) => this.checkRegistered(name, registered, v, path);
    if (kind === "list") for (const v of splitList(value)) one(v);
    else if (kind === "opt") {
      if (value) one(value);
    } else one(value);
  }

  private checkRegistered(name: string, f: Format, value: string, path: string): void {
    if (f.kind === "any") return;
    if (f.kind === "not-extracted")
      throw new Error(
        `fake-pve: format '${name}' is not in test/fixtures/pve/api-schema.json; add it to scripts/extract-pve-api-schema.ts`,
      );
    if (f.kind === "property-string") this.parsePropertyString(f.properties, value, path);
    else if (!jsRegex(`^${f.pattern}$`, f.flags).test(value))
      throw new PerlError(`${f.message.replace("{value}", value)}\n`);
  }

  /** parse_property_string: key=value parts, the default key for a part without '=', no unknown keys */
  private parsePropertyString(format: Record<string, Schema>, data: string, path: string): void {
    const res: Record<string, string> = {};
    let defaultKey: string | null = null;
    const parts = data.split(",");
    while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
    for (let part of parts) {
      if (/^\s*$/.test(part)) continue;
      const kv = /^([^=]+)=(.+)$/.exec(part);
      if (kv) {
        const k = kv[1]!;
        let v = kv[2]!;
        if (res[k] !== undefined)
          throw new PerlError(`duplicate key in comma-separated list property: ${k}\n`);
        const s = format[k];
        if (!s) throw new PerlError(`invalid key in comma-separated list property: ${k}\n`);
        if (s.type === "boolean") v = parseBoolean(v) ?? v;
        res[k] = v;
      } else if (!part.includes("=")) {
        if (defaultKey)
          throw new PerlError(`duplicate key in comma-separated list property: ${defaultKey}\n`);
        const key = Object.keys(format).find((k) => format[k]!.default_key);
        if (!key) throw new PerlError("value without key, but schema does not define a default key\n");
        defaultKey = key;
        if (res[key]) throw new PerlError(`duplicate key in comma-separated list property: ${key}\n`);
        if (format[key]!.type === "boolean") part = parseBoolean(part) ?? part;
        res[key] = part;
      } else throw new PerlError("missing key in comma-separated list property\n");
    }
    const errors: Errors = {};
    this.checkObject(path, format, res, 0, errors);
    if (Object.keys(errors).length > 0) throw new PerlError("format error\n", errors);
  }
}
