/**
 * The hot-syscall fast path (the seed's "JIT"). After a (pid, call) has been
 * served `fastPathHitsMin` times, the dispatcher builds a plan for it:
 *
 * - a validator compiled from the row's zod schema (through its JSON Schema)
 *   into a flat list of checks, used instead of zod; it is only ever
 *   *stricter*: if it rejects, zod runs and gives the exact error, and if it
 *   cannot express a schema, there is no compiled validator at all;
 * - the capability decision (capabilities are fixed at spawn);
 * - for calls that touch no path, the policy allow pre-resolved for the
 *   current policy epoch (only when the confinement says it is stable: no
 *   rate rule, no per-argument field).
 *
 * A plan is dropped when the epoch moves. Path confinement, quotas and the
 * per-agent rate limit are never skipped.
 *
 * @module
 */

import { z } from "zod";

/** Calls of one (pid, call) before a plan is built. */
export const fastPathHitsMin = 32;
/** Most plans held; past this, the table is cleared (plans are cheap to rebuild). */
export const fastPathPlansMax = 65_536;

type Check = (value: unknown) => boolean;

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  contentEncoding?: string;
  [key: string]: unknown;
}

const knownKeys = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "anyOf",
  "const",
  "enum",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "contentEncoding",
  "$schema",
]);

/**
 * Compile a zod object schema of primitive fields into a predicate that
 * accepts a subset of what the schema accepts. Returns null when the schema
 * uses anything this compiler does not understand.
 *
 * @example
 * ```ts
 * const check = compileValidator(z.strictObject({ n: z.int().min(0) }));
 * check?.({ n: 1 }); // true
 * ```
 */
export function compileValidator(schema: z.ZodType): ((args: unknown) => boolean) | null {
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" }) as JsonSchema;
  } catch {
    return null;
  }
  if (json.type !== "object" || json.additionalProperties !== false || !onlyKnown(json)) return null;
  const props = Object.entries(json.properties ?? {});
  const required = new Set(json.required ?? []);
  const checks: [string, Check, boolean][] = [];
  for (const [name, prop] of props) {
    const check = compileValue(prop);
    if (check === null) return null;
    checks.push([name, check, required.has(name)]);
  }
  const allowed = new Set(props.map(([name]) => name));
  return (args: unknown) => {
    if (args === null || typeof args !== "object" || Array.isArray(args)) return false;
    const record = args as Record<string, unknown>;
    for (const key in record) if (!allowed.has(key)) return false;
    for (const [name, check, isRequired] of checks) {
      const value = record[name];
      if (value === undefined) {
        if (isRequired || Object.hasOwn(record, name)) return false;
        continue;
      }
      if (!check(value)) return false;
    }
    return true;
  };
}

function onlyKnown(json: JsonSchema): boolean {
  return Object.keys(json).every((k) => knownKeys.has(k));
}

function compileValue(s: JsonSchema): Check | null {
  if (!onlyKnown(s)) return null;
  if (s.anyOf !== undefined) {
    const parts = s.anyOf.map(compileValue);
    if (parts.some((p) => p === null)) return null;
    return (v) => parts.some((p) => p!(v));
  }
  if (s.const !== undefined) {
    const c = s.const;
    return typeof c === "object" ? null : (v) => v === c;
  }
  if (s.enum !== undefined) {
    const values = new Set(s.enum);
    if (s.enum.some((e) => typeof e === "object")) return null;
    return (v) => values.has(v);
  }
  switch (s.type) {
    case "string":
      return compileString(s);
    case "integer":
    case "number":
      return compileNumber(s, s.type === "integer");
    case "boolean":
      return (v) => typeof v === "boolean";
    default:
      return null;
  }
}

function compileString(s: JsonSchema): Check | null {
  if (s.format !== undefined && s.format !== "base64") return null;
  if (s.format === "base64" && s.pattern === undefined) return null;
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? Infinity;
  const pattern = s.pattern === undefined ? undefined : new RegExp(s.pattern);
  return (v) =>
    typeof v === "string" && v.length >= min && v.length <= max && (pattern === undefined || pattern.test(v));
}

function compileNumber(s: JsonSchema, integer: boolean): Check {
  const min = s.minimum ?? -Infinity;
  const max = s.maximum ?? Infinity;
  const xmin = s.exclusiveMinimum ?? -Infinity;
  const xmax = s.exclusiveMaximum ?? Infinity;
  return (v) =>
    typeof v === "number" && (integer ? Number.isSafeInteger(v) : Number.isFinite(v)) &&
    v >= min && v <= max && v > xmin && v < xmax;
}
