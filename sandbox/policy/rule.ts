/**
 * One compiled rule: its call patterns, matchers for every field it has,
 * its rate buckets and its prebuilt (frozen, shared) decisions. A rule
 * matches iff its `calls` match and *every* field the rule has matches
 * the request.
 *
 * @module
 */

import { allowDecision, askDecision, type Decision, denyDecision } from "./decision.ts";
import { Glob } from "./glob.ts";
import { HostMatcher } from "./host.ts";
import { RateLimit } from "./rate.ts";
import type { NormalRequest } from "./request.ts";
import type { PolicyRule } from "./schema.ts";
import type { StepBudget } from "./steps.ts";

/** How a {@linkcode CompiledRule} builds its rate buckets. */
export interface RuleRate {
  /** Monotonic clock, ms. */
  readonly clock: () => number;
  /** The one bucket key of every request, or `null` to key by `rateKey`. */
  readonly sharedKey: string | null;
}

/**
 * A rule, compiled. Matching is the rule's own: {@linkcode CompiledRule.coversCall}
 * for its `calls`, {@linkcode CompiledRule.matches} for every other field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostAddressMemo, normalizeRequest } from "./request.ts";
 * import { CompiledRule } from "./rule.ts";
 * import { StepBudget } from "./steps.ts";
 * const rule = new CompiledRule({ effect: "deny", calls: ["fs.*"], paths: ["secrets/**"] }, 3, {
 *   clock: () => 0,
 *   sharedKey: null,
 * });
 * assert.deepEqual([rule.decision.ruleId, rule.coversCall("fs.read"), rule.coversCall("fs.")], ["3", true, false]);
 * const req = normalizeRequest({ call: "fs.read", path: "secrets/key" }, new HostAddressMemo())!;
 * assert.equal(rule.matches(req, new StepBudget(100)), true);
 * ```
 */
export class CompiledRule {
  readonly effect: "allow" | "deny" | "ask";
  readonly callAny: boolean;
  readonly callNames: ReadonlySet<string>;
  /** `fs.*` as `fs.`, `fs.read*` as `fs.read`. */
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

  /**
   * Compiles one validated rule.
   *
   * @param rule the rule, from a validated document
   * @param index its position in the document (its id when it has none)
   * @param rate the clock and keying of its rate buckets
   * @throws {TypeError} on a host pattern that was not validated
   */
  constructor(rule: PolicyRule, index: number, rate: RuleRate) {
    const ruleId = rule.id ?? String(index);
    const callNames = new Set<string>();
    const callPrefixes: string[] = [];
    const calls = rule.calls ?? [];
    for (const c of calls) {
      if (c === "*") continue;
      if (c.endsWith("*")) callPrefixes.push(c.slice(0, -1));
      else callNames.add(c);
    }
    this.effect = rule.effect;
    this.callAny = calls.includes("*");
    this.callNames = callNames;
    this.callPrefixes = callPrefixes;
    this.globs = rule.paths === undefined ? null : rule.paths.map((glob) => new Glob(glob));
    this.hosts = rule.hosts === undefined ? null : new HostMatcher(rule.hosts);
    this.ports = rule.ports === undefined ? null : new Set(rule.ports);
    this.methods = rule.methods === undefined ? null : new Set(rule.methods.map((m) => m.toUpperCase()));
    this.rate = rule.rate === undefined
      ? null
      : new RateLimit(rule.rate.perSec, rule.rate.burst, rate.clock, rate.sharedKey);
    this.decision = rule.effect === "allow"
      ? allowDecision(ruleId, true)
      : rule.effect === "ask"
      ? askDecision(ruleId)
      : denyDecision(ruleId, "rule", true);
    this.uncachedAllow = allowDecision(ruleId, false);
    this.rateDecision = denyDecision(ruleId, "rate", false);
  }

  /**
   * Do the rule's `calls` cover `call`? (`*`, an exact name, or `prefix*`
   * for a longer name.)
   *
   * @param call the syscall name
   * @returns whether they do
   */
  coversCall(call: string): boolean {
    if (this.callAny || this.callNames.has(call)) return true;
    for (const prefix of this.callPrefixes) {
      if (call.length > prefix.length && call.startsWith(prefix)) return true;
    }
    return false;
  }

  /**
   * Do the rule's fields match the request (its calls already do)?
   * Cheapest checks first: ports and methods, then hosts, then paths. The
   * rule costs a step, its matchers theirs.
   *
   * @param req the normal request
   * @param steps the evaluation's budget
   * @returns whether every field of the rule matches; `false` once `steps` is spent
   */
  matches(req: NormalRequest, steps: StepBudget): boolean {
    if (--steps.left < 0) return false;
    if (this.ports !== null && !this.ports.has(req.port)) return false;
    if (
      this.methods !== null &&
      (req.method === null || !this.methods.has(req.method))
    ) {
      return false;
    }
    if (this.hosts !== null && !this.hosts.matches(req.host, req.addr, steps)) {
      return false;
    }
    if (this.globs === null) return true;
    const segs = req.segs;
    if (segs === null) return false;
    const globs = this.globs;
    for (let i = 0; i < globs.length; i++) {
      if (globs[i].matches(segs, steps)) return true;
    }
    return false;
  }
}
