/**
 * The policy layer of confinement: a zod-validated rule document, a
 * compiled default-deny engine where deny overrides allow, intersection of
 * an agent's and its tenant's policies, token-bucket rate rules, and a
 * TTL + LRU decision cache. This file is the folder's only public entry.
 *
 * One concept per file: `schema.ts` (the document), `glob.ts` (path
 * globs and the one greedy wildcard matcher), `host.ts` (host patterns), `rate.ts` (token buckets), `request.ts` (the request shape,
 * its normalisation and cache key), `rule.ts` (one compiled rule),
 * `rule_set.ts` (a document's rules and call index), `policy.ts`
 * (compiled policies and their intersection), `steps.ts` (the step budget
 * of one evaluation), `evaluate.ts` (deciding), `decision.ts` (decisions
 * and errnos), `cache.ts` (the decision cache).
 *
 * A cached allow never replaces the use-time path re-check: see
 * `cache.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, decisionErrno, evaluate } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { id: "src", effect: "allow", calls: ["fs.*"], paths: ["src/**"] },
 *   { effect: "deny", calls: ["fs.write"], paths: ["src/vendor/**"] },
 * ] });
 * const d = evaluate(policy, { call: "fs.write", path: "src/vendor/x.js" });
 * assert.deepEqual(d, { effect: "deny", ruleId: "1", layer: "policy", reason: "rule", cacheable: true });
 * assert.equal(decisionErrno(d), "EPERM");
 * ```
 *
 * @module
 */

export * from "./limits.ts";
export { type Decision, decisionErrno, denialMessage, type DenyReason } from "./decision.ts";
export { evaluate, probe } from "./evaluate.ts";
export { CompiledPolicy, type CompileOptions, compilePolicy, decideImport, intersect } from "./policy.ts";
export { type ImportDecision, importDenialMessage, type ImportRequest } from "./imports.ts";
export { type PolicyRequest, resourceKey } from "./request.ts";
export { type StepMeter } from "./steps.ts";
export { DecisionCache, type DecisionCacheOptions, type DecisionCacheStats } from "./cache.ts";
export {
  defaultDenyRuleId,
  globProblem,
  type HostPattern,
  hostPattern,
  parsePolicy,
  parsePolicyText,
  type PolicyDocument,
  policyDocumentSchema,
  policyMatchCost,
  type PolicyParseResult,
  type PolicyRule,
  safeParsePolicy,
} from "./schema.ts";
