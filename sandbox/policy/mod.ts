/**
 * The policy layer of confinement: a zod-validated rule document, a
 * compiled default-deny engine where deny overrides allow, intersection of
 * an agent's and its tenant's policies, token-bucket rate rules, and a
 * TTL + LRU decision cache.
 *
 * A cached allow never replaces the use-time path re-check: see
 * `cache.ts`.
 *
 * @example
 * ```ts
 * import { compilePolicy, decisionErrno, evaluate } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { id: "src", effect: "allow", calls: ["fs.*"], paths: ["src/**"] },
 *   { effect: "deny", calls: ["fs.write"], paths: ["src/vendor/**"] },
 * ] });
 * const d = evaluate(policy, { call: "fs.write", path: "src/vendor/x.js" });
 * // { effect: "deny", ruleId: "1", layer: "policy", reason: "rule", cacheable: true }
 * decisionErrno(d); // "EPERM"
 * ```
 *
 * @module
 */

export {
  callIndexEntriesMax,
  type CompiledPolicy,
  type CompileOptions,
  compilePolicy,
  type Decision,
  decisionErrno,
  type DenyReason,
  evaluate,
  intersect,
  intersectPartsMax,
  matchStepsMax,
  type PolicyRequest,
  rateKeyCharsMax,
  rateKeysPerRuleMax,
  requestHostCharsMax,
  requestMethodCharsMax,
  requestPathCharsMax,
  requestSegmentCharsMax,
  resourceKey,
  type StepMeter,
} from "./engine.ts";
export {
  cacheEntriesMaxLimit,
  cacheTtlMsMax,
  DecisionCache,
  type DecisionCacheOptions,
  type DecisionCacheStats,
} from "./cache.ts";
export {
  backtrackingSegmentCost,
  callCharsMax,
  callsPerRuleMax,
  defaultDenyRuleId,
  globCharsMax,
  globProblem,
  globSegmentCharsMax,
  type HostPattern,
  hostPattern,
  hostPatternCharsMax,
  hostsPerRuleMax,
  idCharsMax,
  methodCharsMax,
  methodsPerRuleMax,
  parsePolicy,
  parsePolicyText,
  pathsPerRuleMax,
  policyBytesMax,
  policyDepthMax,
  type PolicyDocument,
  policyDocumentSchema,
  policyMatchCost,
  policyMatchCostMax,
  policyNodesMax,
  type PolicyParseResult,
  type PolicyRule,
  portsPerRuleMax,
  rateBurstMax,
  ratePerSecMax,
  rulesMax,
  safeParsePolicy,
} from "./schema.ts";
