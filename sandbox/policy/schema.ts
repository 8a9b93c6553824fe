/**
 * The policy document: a zod v4 schema, its limits, and a parse that is
 * safe against hostile input.
 *
 * ```json
 * { "version": 1, "rules": [
 *   { "id": "read-src", "effect": "allow", "calls": ["fs.read*"], "paths": ["src/**"] },
 *   { "effect": "deny", "calls": ["fs.*"], "paths": ["secrets/**", ".env"] },
 *   { "effect": "allow", "calls": ["net.fetch"], "hosts": ["*.example.com"],
 *     "ports": [443], "methods": ["GET"], "rate": { "perSec": 5, "burst": 10 } }
 * ] }
 * ```
 *
 * Pattern grammar (checked here, compiled by `glob.ts` and `host.ts`):
 * - `calls`: `"*"`, an exact name (`"fs.readText"`) or a prefix ending in
 *   `*` (`"fs.*"`: any call starting with `fs.`; `"fs.read*"`: `fs.readText`,
 *   `fs.readBytes`, `fs.readDir`).
 * - `paths`: workspace-relative POSIX globs (segments of at most 255
 *   characters, like file names); segments split on `/`; `*`
 *   is any run of characters within a segment (dotfiles included), `?`
 *   one character, `**` (a whole segment only) zero or more segments, so
 *   `secrets/**` also matches `secrets` itself; `.` alone is the root.
 *   `[`, `]`, `{`, `}`, `\`, a leading `!`, `..`, `.` segments, empty
 *   segments, a leading `/` and control characters are rejected, so a
 *   pattern never means something other than what it looks like (a deny
 *   rule `*.{pem,key}` that silently matched nothing would fail open).
 * - `hosts`: `"*"`, a name (`"example.com"`, ASCII/punycode, exact), a
 *   suffix wildcard (`"*.example.com"`: subdomains at any depth, not the
 *   apex), or an IP/CIDR (`"10.0.0.0/8"`, `"::1"`; host bits must be 0).
 * - `ports`: 1–65535. `methods`: HTTP tokens, compared upper-cased.
 * - `effect`: `allow`, `deny`, or `ask` (calls only): a call it matches
 *   waits until a person approves or denies it (`sandbox/approvals.ts`).
 *   Precedence in a document: deny, then ask, then allow.
 * - `rate`: only on `allow` rules; a token bucket of `burst` tokens
 *   refilled at `perSec` per second.
 * - `imports` (instead of `calls`): package-name patterns (`"lodash"`,
 *   `"@scope/*"`, `"*"`), with an optional npm `versions` range (`"^4"`);
 *   such a rule decides which packages of the store an agent may import
 *   (see `imports.ts`). `dynamicImports: true` at the top lets it import
 *   a package by a name computed at run time.
 * - Complexity: all rules' path-glob segments and host patterns together
 *   cost at most {@linkcode policyMatchCostMax} (a backtracking segment
 *   such as `*a*b` costs {@linkcode backtrackingSegmentCost}), so no
 *   document can make every evaluation expensive.
 *
 * Safety of {@linkcode parsePolicy}: the input is first copied into fresh
 * null-prototype data (own enumerable data properties only; getters,
 * class instances, `__proto__`/`constructor`/`prototype` keys, deep
 * nesting and more than {@linkcode policyNodesMax} values are rejected),
 * so inherited (polluted) properties are never read and a huge array
 * costs nothing before it is rejected. Every failure is a `ZodError`.
 *
 * @module
 */

import { z } from "zod";
import { type Cidr, hostNameCharsMax, parseCidr } from "../egress/mod.ts";
import { validRange } from "../../lib/mod.ts";
import {
  backtrackingSegmentCost,
  callCharsMax,
  callsPerRuleMax,
  globCharsMax,
  globSegmentCharsMax,
  hostPatternCharsMax,
  hostsPerRuleMax,
  idCharsMax,
  importPatternCharsMax,
  importsPerRuleMax,
  methodCharsMax,
  methodsPerRuleMax,
  pathsPerRuleMax,
  policyBytesMax,
  policyDepthMax,
  policyMatchCostMax,
  policyNodesMax,
  portsPerRuleMax,
  rateBurstMax,
  ratePerSecMax,
  rulesMax,
} from "./limits.ts";

/** The `ruleId` of a decision no rule made; no rule may use it as its id. */
export const defaultDenyRuleId = "default-deny";

const forbiddenKeys = new Set(["__proto__", "constructor", "prototype"]);
/**
 * A package-name pattern of an imports rule: an npm name (`lodash`,
 * `@scope/name`) where `*` is any run of characters within the scope or
 * the name (`@scope/*`, `lodash*`); `*` alone is every package.
 */
const importPattern = /^(\*|(@[a-z0-9*][a-z0-9._*~-]*\/)?[a-z0-9*][a-z0-9._*~-]*)$/;
/** `*`; a name (`fs.readText`); a family `fs.*`; a prefix of names within a family, `fs.read*`. */
const callPattern =
  /^(\*|[a-z][a-zA-Z0-9_-]*(\.[a-z][a-zA-Z0-9_-]*)*(\.\*)?|[a-z][a-zA-Z0-9_-]*(\.[a-z][a-zA-Z0-9_-]*)+\*)$/;
const idPattern = /^[A-Za-z][A-Za-z0-9._:-]*$/;
const hostNamePattern =
  /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
// deno-lint-ignore no-control-regex
const globForbiddenChars = /[\u0000-\u001f\u007f\\[\]{}]/;

/**
 * Why a path glob is invalid, or `null` if it is valid (see the module
 * doc for the grammar).
 *
 * @param glob the candidate glob
 * @returns a reason, or `null`
 * @example
 * ```ts
 * globProblem("src/**"); // null
 * globProblem("../etc/passwd"); // "'..' segment"
 * ```
 */
export function globProblem(glob: string): string | null {
  if (glob.length === 0 || glob.length > globCharsMax) return "bad length";
  if (!glob.isWellFormed()) return "lone surrogate";
  if (globForbiddenChars.test(glob)) return "unsupported character";
  if (glob.startsWith("!")) return "negation is not supported";
  if (glob === ".") return null;
  if (glob.startsWith("/")) return "must be workspace-relative";
  for (const segment of glob.split("/")) {
    if (segment === "") return "empty segment";
    if (segment === "..") return "'..' segment";
    if (segment === ".") return "'.' segment";
    if (segment.length > globSegmentCharsMax) return "segment too long";
    if (segment.includes("**") && segment !== "**") {
      return "'**' must be a whole segment";
    }
  }
  return null;
}

/** Cost of one valid glob segment (see {@linkcode backtrackingSegmentCost}). */
function segmentCost(segment: string): number {
  const stars = segment.split("*").length - 1;
  const hasQ = segment.includes("?");
  if (stars === 0 && !hasQ) return 1;
  if (segment === "*" || segment === "**") return 1;
  if (stars === 1 && !hasQ && (segment.endsWith("*") || segment.startsWith("*"))) return 1;
  return backtrackingSegmentCost;
}

/**
 * The matching cost of a (structurally valid) document, as budgeted by
 * {@linkcode policyMatchCostMax}: every path-glob segment (backtracking
 * ones {@linkcode backtrackingSegmentCost}) plus every host pattern, over
 * all rules. Entries that are not strings cost nothing (they fail
 * validation on their own).
 *
 * @param doc a document (validated or not)
 * @returns its cost
 * @example
 * ```ts
 * policyMatchCost({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.*"], paths: ["src/**", "*a*b"] },
 * ] }); // 2 + 16 = 18
 * ```
 */
export function policyMatchCost(doc: unknown): number {
  const rules = (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return 0;
  let cost = 0;
  for (const rule of rules) {
    const { paths, hosts } = (rule ?? {}) as { paths?: unknown; hosts?: unknown };
    if (Array.isArray(paths)) {
      for (const glob of paths) {
        if (typeof glob !== "string") continue;
        cost += glob === "." ? 1 : glob.split("/").reduce((n, seg) => n + segmentCost(seg), 0);
      }
    }
    if (Array.isArray(hosts)) cost += hosts.length;
  }
  return cost;
}

/** A host pattern, understood: see the module doc for the grammar. */
export type HostPattern =
  | { readonly kind: "any" }
  | { readonly kind: "cidr"; readonly cidr: Cidr }
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "suffix"; readonly suffix: string };

/**
 * Reads a host pattern: `*`, an IP or CIDR (text made only of digits and
 * dots, or containing `:` or `/`), `*.` + name, or a name. Names come back
 * lower-cased without a trailing dot; a suffix keeps its leading dot.
 *
 * @param text the candidate pattern
 * @returns the pattern, or `null` if it is invalid
 * @example
 * ```ts
 * hostPattern("*.Example.com"); // { kind: "suffix", suffix: ".example.com" }
 * hostPattern("10.0.0.1/8"); // null: host bits set
 * ```
 */
export function hostPattern(text: string): HostPattern | null {
  if (text === "*") return { kind: "any" };
  if (text.length === 0 || text.length > hostPatternCharsMax) return null;
  if (/[:/]/.test(text) || /^[\d.]+$/.test(text)) {
    const cidr = parseCidr(text);
    return cidr === null ? null : { kind: "cidr", cidr };
  }
  if (!hostNamePattern.test(text)) return null;
  const name = text.toLowerCase().replace(/\.$/, "");
  if (name.length > hostNameCharsMax) return null;
  return name.startsWith("*.") ? { kind: "suffix", suffix: name.slice(1) } : { kind: "name", name };
}

const ruleSchema = z.strictObject({
  id: z.string().min(1).max(idCharsMax).regex(idPattern).refine(
    (id) => id !== defaultDenyRuleId,
    "reserved rule id",
  ).optional(),
  effect: z.enum(["allow", "deny", "ask"]),
  calls: z.array(z.string().max(callCharsMax).regex(callPattern)).min(1)
    .max(callsPerRuleMax).optional(),
  imports: z.array(z.string().max(importPatternCharsMax).regex(importPattern, "bad package name pattern")).min(1)
    .max(importsPerRuleMax).optional(),
  versions: z.string().max(256).refine(validRange, "bad version range").optional(),
  paths: z.array(
    z.string().max(globCharsMax).superRefine((glob, ctx) => {
      const problem = globProblem(glob);
      if (problem !== null) {
        ctx.addIssue({ code: "custom", message: `bad path glob: ${problem}` });
      }
    }),
  ).min(1).max(pathsPerRuleMax).optional(),
  hosts: z.array(
    z.string().max(hostPatternCharsMax).refine(
      (text) => hostPattern(text) !== null,
      "bad host pattern",
    ),
  ).min(1).max(hostsPerRuleMax).optional(),
  ports: z.array(z.int().min(1).max(65535)).min(1).max(portsPerRuleMax)
    .optional(),
  methods: z.array(z.string().min(1).max(methodCharsMax).regex(/^[A-Za-z]+$/))
    .min(1).max(methodsPerRuleMax).optional(),
  rate: z.strictObject({
    perSec: z.number().positive().max(ratePerSecMax),
    burst: z.int().min(1).max(rateBurstMax),
  }).optional(),
}).superRefine((rule, ctx) => {
  // Own-property reads: zod's output objects inherit from Object.prototype.
  const has = (key: string) => Object.hasOwn(rule, key) && (rule as Record<string, unknown>)[key] !== undefined;
  if (has("calls") === has("imports")) {
    ctx.addIssue({
      code: "custom",
      path: [has("calls") ? "imports" : "calls"],
      message: 'a rule has either "calls" (syscalls) or "imports" (packages), not both and not neither',
    });
  }
  if (has("imports") && rule.effect === "ask") {
    ctx.addIssue({
      code: "custom",
      path: ["effect"],
      message: 'an imports rule is "allow" or "deny": imports are decided before the agent runs, with no one to ask',
    });
  }
  if (has("imports")) {
    for (const key of ["paths", "hosts", "ports", "methods", "rate"]) {
      if (has(key)) ctx.addIssue({ code: "custom", path: [key], message: `${key} does not apply to an imports rule` });
    }
  } else if (has("versions")) {
    ctx.addIssue({ code: "custom", path: ["versions"], message: "versions only applies to an imports rule" });
  }
  if (Object.hasOwn(rule, "rate") && rule.effect !== "allow") {
    ctx.addIssue({
      code: "custom",
      path: ["rate"],
      message: "rate is only allowed on allow rules",
    });
  }
});

/** zod schema of a policy document (strict: unknown keys are rejected). */
export const policyDocumentSchema = z.strictObject({
  /** The format's version; `1`, the only one, when left out. */
  version: z.literal(1).default(1),
  rules: z.array(ruleSchema).max(rulesMax),
  /** May an agent import a package by a name computed at run time (`import(name)`)? Default false. */
  dynamicImports: z.boolean().optional(),
}).superRefine((doc, ctx) => {
  const cost = policyMatchCost(doc);
  if (cost > policyMatchCostMax) {
    ctx.addIssue({
      code: "custom",
      path: ["rules"],
      message: `policy too complex: matching cost ${cost} is over policyMatchCostMax (${policyMatchCostMax}; ` +
        `each path-glob segment costs 1, a backtracking one ${backtrackingSegmentCost}, each host pattern 1)`,
    });
  }
  const seen = new Set<string>();
  doc.rules.forEach((rule, index) => {
    if (!Object.hasOwn(rule, "id") || rule.id === undefined) return;
    if (seen.has(rule.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["rules", index, "id"],
        message: "duplicate rule id",
      });
    }
    seen.add(rule.id);
  });
});

/** One validated rule. */
export type PolicyRule = z.infer<typeof ruleSchema>;
/** A validated policy document. */
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

/** The result of {@linkcode safeParsePolicy}, in zod's shape. */
export type PolicyParseResult =
  | { readonly success: true; readonly data: PolicyDocument }
  | { readonly success: false; readonly error: z.ZodError };

/**
 * Validates an untrusted policy document without throwing.
 *
 * @param input any value, e.g. the result of `JSON.parse`
 * @returns `{success:true,data}` or `{success:false,error}` with a `ZodError`
 * @example
 * ```ts
 * const r = safeParsePolicy({ version: 1, rules: [] });
 * // r.success === true
 * ```
 */
export function safeParsePolicy(input: unknown): PolicyParseResult {
  const copy = snapshot(input);
  if (!copy.ok) return { success: false, error: copy.error };
  const result = policyDocumentSchema.safeParse(copy.value);
  if (!result.success) return { success: false, error: result.error };
  // zod's output objects inherit from Object.prototype; hand out
  // null-prototype copies so an absent optional field reads `undefined`
  // even if Object.prototype has been polluted.
  const data = copyValue(result.data, [], { nodes: 0 }) as PolicyDocument;
  return { success: true, data };
}

/**
 * Validates an untrusted policy document.
 *
 * @param input any value, e.g. the result of `JSON.parse`
 * @returns the validated document (fresh objects, nothing shared with input)
 * @throws {z.ZodError} if the document is invalid
 * @example
 * ```ts
 * const doc = parsePolicy({ version: 1, rules: [{ effect: "allow", calls: ["*"] }] });
 * ```
 */
export function parsePolicy(input: unknown): PolicyDocument {
  const result = safeParsePolicy(input);
  if (!result.success) throw result.error;
  return result.data;
}

/**
 * Parses and validates policy JSON text, capping its size before parsing.
 *
 * @param text JSON text of at most {@linkcode policyBytesMax} UTF-8 bytes
 * @returns the validated document
 * @throws {z.ZodError} if the text is too large, not JSON, or invalid
 * @example
 * ```ts
 * const doc = parsePolicyText('{"version":1,"rules":[]}');
 * ```
 */
export function parsePolicyText(text: string): PolicyDocument {
  if (typeof text !== "string" || text.length > policyBytesMax) {
    throw issue([], "policy text too large");
  }
  if (new TextEncoder().encode(text).length > policyBytesMax) {
    throw issue([], "policy text too large");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw issue([], "policy text is not JSON");
  }
  return parsePolicy(value);
}

function issue(path: PropertyKey[], message: string): z.ZodError {
  return new z.ZodError([{ code: "custom", path, message, input: undefined }]);
}

type Snapshot = { ok: true; value: unknown } | { ok: false; error: z.ZodError };

/**
 * Copies `input` into null-prototype plain data, reading only own
 * enumerable data properties, within the node and depth budgets.
 */
function snapshot(input: unknown): Snapshot {
  const budget = { nodes: 0 };
  try {
    return { ok: true, value: copyValue(input, [], budget) };
  } catch (error) {
    if (error instanceof z.ZodError) return { ok: false, error };
    return { ok: false, error: issue([], "unreadable policy document") };
  }
}

function copyValue(
  value: unknown,
  path: PropertyKey[],
  budget: { nodes: number },
): unknown {
  if (++budget.nodes > policyNodesMax) throw issue(path, "document too large");
  if (path.length > policyDepthMax) throw issue(path, "document too deep");
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    if (value.length > policyNodesMax - budget.nodes) {
      throw issue(path, "document too large");
    }
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      out.push(
        copyValue(ownData(value, String(i), path), [...path, i], budget),
      );
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw issue(path, "not a plain object");
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value)) {
    if (forbiddenKeys.has(key)) throw issue([...path, key], "forbidden key");
    out[key] = copyValue(ownData(value, key, path), [...path, key], budget);
  }
  return out;
}

function ownData(object: object, key: string, path: PropertyKey[]): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  if (descriptor === undefined) return undefined;
  if (!("value" in descriptor)) {
    throw issue([...path, key], "accessor property");
  }
  return descriptor.value;
}
