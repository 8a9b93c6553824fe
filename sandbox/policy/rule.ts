/**
 * One compiled rule: its call patterns, matchers for every field it has,
 * its rate buckets and its prebuilt (frozen, shared) decisions. A rule
 * matches iff its `calls` match and *every* field the rule has matches
 * the request.
 *
 * @module
 */

import { allowDecision, type Decision, denyDecision } from "./decision.ts";
import { compileGlob, type Glob, globMatches } from "./glob.ts";
import { compileHosts, type HostMatcher, hostMatches } from "./host.ts";
import { RateLimit } from "./rate.ts";
import type { NormalRequest } from "./request.ts";
import type { PolicyRule } from "./schema.ts";
import type { StepBudget } from "./steps.ts";

/** A rule, compiled. */
export interface CompiledRule {
  readonly effect: "allow" | "deny";
  readonly callAny: boolean;
  readonly callNames: ReadonlySet<string>;
  /** `fs.*` as `fs.`. */
  readonly callPrefixes: readonly string[];
  readonly globs: readonly Glob[] | null;
  readonly hosts: HostMatcher | null;
  readonly ports: ReadonlySet<number> | null;
  readonly methods: ReadonlySet<string> | null;
  readonly rate: RateLimit | null;
  /** Deny rules: the deny decision. Allow rules: the cacheable allow. */
  readonly decision: Decision;
  /** Allow rules: the same allow, not cacheable (a rate rule took part). */
  readonly uncachedAllow: Decision;
  /** Rate rules: the rate denial. */
  readonly rateDecision: Decision;
}

/** How {@linkcode compileRule} builds a rule's rate buckets. */
export interface RuleRate {
  /** Monotonic clock, ms. */
  readonly clock: () => number;
  /** The one bucket key of every request, or `null` to key by `rateKey`. */
  readonly sharedKey: string | null;
}

/**
 * Compiles one validated rule.
 *
 * @param rule the rule, from a validated document
 * @param index its position in the document (its id when it has none)
 * @param rate the clock and keying of its rate buckets
 * @returns the compiled rule
 * @throws {TypeError} on a host pattern that was not validated
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRule } from "./rule.ts";
 * const rule = compileRule({ effect: "allow", calls: ["fs.*"] }, 3, { clock: () => 0, sharedKey: null });
 * assert.deepEqual([rule.decision.ruleId, rule.callPrefixes], ["3", ["fs."]]);
 * ```
 */
export function compileRule(rule: PolicyRule, index: number, rate: RuleRate): CompiledRule {
  const ruleId = rule.id ?? String(index);
  const callNames = new Set<string>();
  const callPrefixes: string[] = [];
  for (const c of rule.calls) {
    if (c === "*") continue;
    if (c.endsWith(".*")) callPrefixes.push(c.slice(0, -1));
    else callNames.add(c);
  }
  return {
    effect: rule.effect,
    callAny: rule.calls.includes("*"),
    callNames,
    callPrefixes,
    globs: rule.paths === undefined ? null : rule.paths.map(compileGlob),
    hosts: rule.hosts === undefined ? null : compileHosts(rule.hosts),
    ports: rule.ports === undefined ? null : new Set(rule.ports),
    methods: rule.methods === undefined ? null : new Set(rule.methods.map((m) => m.toUpperCase())),
    rate: rule.rate === undefined ? null : new RateLimit(rule.rate.perSec, rule.rate.burst, rate.clock, rate.sharedKey),
    decision: rule.effect === "allow" ? allowDecision(ruleId, true) : denyDecision(ruleId, "rule", true),
    uncachedAllow: allowDecision(ruleId, false),
    rateDecision: denyDecision(ruleId, "rate", false),
  };
}

/**
 * Do the rule's `calls` cover `call`? (`*`, an exact name, or `prefix.*`
 * for a longer name.)
 *
 * @param rule the compiled rule
 * @param call the syscall name
 * @returns whether they do
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callMatches, compileRule } from "./rule.ts";
 * const rule = compileRule({ effect: "allow", calls: ["fs.*"] }, 0, { clock: () => 0, sharedKey: null });
 * assert.deepEqual([callMatches(rule, "fs.read"), callMatches(rule, "fs.")], [true, false]);
 * ```
 */
export function callMatches(rule: CompiledRule, call: string): boolean {
  if (rule.callAny || rule.callNames.has(call)) return true;
  for (const prefix of rule.callPrefixes) {
    if (call.length > prefix.length && call.startsWith(prefix)) return true;
  }
  return false;
}

/**
 * Do the rule's fields match the request (its calls already do)? Cheapest
 * checks first: ports and methods, then hosts, then paths. The rule costs
 * a step, its matchers theirs.
 *
 * @param rule the compiled rule
 * @param req the normal request
 * @param steps the evaluation's budget
 * @returns whether every field of the rule matches; `false` once `steps` is spent
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostAddressMemo, normalizeRequest } from "./request.ts";
 * import { compileRule, ruleMatches } from "./rule.ts";
 * import { StepBudget } from "./steps.ts";
 * const rule = compileRule({ effect: "deny", calls: ["fs.read"], paths: ["secrets/**"] }, 0, {
 *   clock: () => 0,
 *   sharedKey: null,
 * });
 * const req = normalizeRequest({ call: "fs.read", path: "secrets/key" }, new HostAddressMemo())!;
 * assert.equal(ruleMatches(rule, req, new StepBudget(100)), true);
 * ```
 */
export function ruleMatches(rule: CompiledRule, req: NormalRequest, steps: StepBudget): boolean {
  if (!steps.take()) return false;
  if (rule.ports !== null && !rule.ports.has(req.port)) return false;
  if (
    rule.methods !== null &&
    (req.method === null || !rule.methods.has(req.method))
  ) {
    return false;
  }
  if (rule.hosts !== null && !hostMatches(rule.hosts, req.host, req.addr, steps)) {
    return false;
  }
  if (rule.globs === null) return true;
  const segs = req.segs;
  if (segs === null) return false;
  const globs = rule.globs;
  for (let i = 0; i < globs.length; i++) {
    if (globMatches(globs[i], segs, steps)) return true;
  }
  return false;
}
