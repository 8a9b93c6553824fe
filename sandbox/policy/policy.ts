/**
 * Compiled policies: one document ({@linkcode compilePolicy}) or the
 * intersection of several ({@linkcode intersect}). A compiled policy is
 * the unit that owns rate buckets (in its documents' rules) and its memo
 * of IP-literal host addresses.
 *
 * @module
 */

import { HostAddressMemo } from "./request.ts";
import { CompiledRule } from "./rule.ts";
import { RuleSet } from "./rule_set.ts";
import { type ImportDecision, type ImportRequest, ImportRules } from "./imports.ts";
import { parsePolicy } from "./schema.ts";
import { intersectPartsMax } from "./limits.ts";

/** Options of {@linkcode compilePolicy}. */
export interface CompileOptions {
  /**
   * Monotonic clock in milliseconds for rate buckets.
   * @default {() => performance.now()}
   */
  readonly clock?: () => number;
  /**
   * One key for every rate bucket of this document, whatever a request's
   * `rateKey`: every evaluation through this instance (and through every
   * intersection that holds it) shares the document's buckets. Give the
   * tenant's document its tenant here to make its rates tenant-wide.
   * @default {undefined} (buckets are keyed by each request's `rateKey`)
   */
  readonly sharedRateKey?: string;
}

const policyToken = Symbol("CompiledPolicy");

/**
 * A compiled policy instance. Build with {@linkcode compilePolicy} or
 * {@linkcode intersect}; decide with `evaluate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, intersect } from "./policy.ts";
 * const a = compilePolicy({ version: 1, rules: [{ effect: "allow", calls: ["*"] }] });
 * const b = compilePolicy({ version: 1, rules: [{ effect: "allow", calls: ["fs.*"] }, { effect: "deny", calls: ["fs.write"] }] });
 * assert.equal(intersect(a, b).rulesCount, 3);
 * ```
 */
export class CompiledPolicy {
  readonly #parts: readonly RuleSet[];
  readonly #addresses: HostAddressMemo;

  /**
   * Internal: use {@linkcode compilePolicy} or {@linkcode intersect}.
   *
   * @param token the module's private token
   * @param parts the documents, in the order their denials are reported
   * @param addresses the memo of IP-literal host addresses
   * @throws {TypeError} when called from outside this module
   * @throws {RangeError} for more than {@linkcode intersectPartsMax} documents, or none
   */
  constructor(token: symbol, parts: readonly RuleSet[], addresses: HostAddressMemo) {
    if (token !== policyToken) throw new TypeError("use compilePolicy()");
    if (parts.length < 1 || parts.length > intersectPartsMax) {
      throw new RangeError(
        `a policy combines 1..${intersectPartsMax} documents`,
      );
    }
    this.#parts = parts;
    this.#addresses = addresses;
  }

  /** Total rules across the combined documents. */
  get rulesCount(): number {
    return this.#parts.reduce((n, p) => n + p.rules.length, 0);
  }

  /**
   * Drops the rate buckets of a key that will never be used again (an
   * exited agent's spawn id) from every document of this policy that keys
   * buckets by request. Shared buckets stay.
   *
   * @param rateKey the key
   * @returns how many buckets were dropped
   */
  forgetRateKey(rateKey: string): number {
    return this.#parts.reduce((n, p) => n + p.forgetRateKey(rateKey), 0);
  }

  /**
   * Internal: the rule sets of `policy`.
   *
   * @param policy a compiled policy
   * @returns its documents' rule sets
   */
  static partsOf(policy: CompiledPolicy): readonly RuleSet[] {
    return policy.#parts;
  }

  /**
   * Internal: the memo of IP-literal host addresses of `policy`.
   *
   * @param policy a compiled policy
   * @returns its memo
   */
  static addressesOf(policy: CompiledPolicy): HostAddressMemo {
    return policy.#addresses;
  }
}

/**
 * Validates and compiles a policy document into a fresh policy instance
 * (with its own, empty rate buckets).
 *
 * @param doc an untrusted document; validated with `parsePolicy` first
 * @param options the clock for rate limits, and a shared rate key
 * @returns the compiled policy
 * @throws {import("zod").ZodError} if the document is invalid
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, evaluate } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.read"], paths: ["src/**"] },
 * ] });
 * assert.equal(evaluate(policy, { call: "fs.read", path: "src/a.ts" }).effect, "allow");
 * ```
 */
export function compilePolicy(
  doc: unknown,
  options: CompileOptions = {},
): CompiledPolicy {
  const valid = parsePolicy(doc);
  const rate = { clock: options.clock ?? (() => performance.now()), sharedKey: options.sharedRateKey ?? null };
  const rules: CompiledRule[] = [];
  valid.rules.forEach((rule, i) => {
    if (rule.calls !== undefined) rules.push(new CompiledRule(rule, i, rate));
  });
  return new CompiledPolicy(policyToken, [new RuleSet(rules, ImportRules.of(valid))], new HostAddressMemo());
}

/**
 * The effective policy of two: a request is allowed only if both allow
 * it. A deny from `a` is reported before one from `b`; an allow names
 * `a`'s rule. Rate buckets stay with their documents: a document compiled
 * with a `sharedRateKey` (the tenant's) limits every agent whose chain
 * holds it together; any other document keys its buckets by each
 * request's `rateKey`. The result shares `b`'s address memo.
 *
 * @param a e.g. the agent's own policy
 * @param b e.g. its tenant's policy
 * @returns a policy that allows what both allow
 * @throws {RangeError} if more than {@linkcode intersectPartsMax} documents combine
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, evaluate, intersect } from "./mod.ts";
 * const agentPolicy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.*"], paths: ["**"] },
 * ] });
 * const tenantPolicy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.read"], paths: ["**"] },
 * ] });
 * const effective = intersect(agentPolicy, tenantPolicy);
 * assert.equal(evaluate(effective, { call: "fs.write", path: "a" }).effect, "deny");
 * ```
 */
export function intersect(
  a: CompiledPolicy,
  b: CompiledPolicy,
): CompiledPolicy {
  const parts = [...CompiledPolicy.partsOf(a)];
  for (const part of CompiledPolicy.partsOf(b)) {
    if (!parts.includes(part)) parts.push(part);
  }
  return new CompiledPolicy(policyToken, parts, CompiledPolicy.addressesOf(b));
}

/**
 * How the documents of `policy` answer an import, in order: the first
 * refusal (with the index of the document that made it), or allow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, decideImport } from "./mod.ts";
 * const p = compilePolicy({ version: 1, rules: [{ effect: "allow", imports: ["zod"] }] });
 * assert.equal(decideImport(p, { name: "lodash", version: "4.17.21", dynamic: false }).decision.effect, "deny");
 * ```
 */
export function decideImport(
  policy: CompiledPolicy,
  req: ImportRequest,
): { decision: ImportDecision; part: number } {
  const parts = CompiledPolicy.partsOf(policy);
  let allowed: ImportDecision = { effect: "allow", ruleId: null };
  for (let i = 0; i < parts.length; i++) {
    const d = parts[i].imports?.decide(req) ?? { effect: "allow", ruleId: null };
    if (d.effect === "deny") return { decision: d, part: i };
    if (allowed.ruleId === null) allowed = d;
  }
  return { decision: allowed, part: -1 };
}
