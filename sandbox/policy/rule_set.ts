/**
 * The compiled rules of one policy document, with a bounded memo of the
 * candidate rules of each call name (its deny and allow rules in document
 * order), so an evaluation only looks at the rules its call can match.
 *
 * @module
 */

import type { CompiledRule } from "./rule.ts";
import type { ImportRules } from "./imports.ts";
import { callIndexEntriesMax } from "./limits.ts";

/** The rules of one document that a call can match. */
export interface Candidates {
  readonly denies: readonly CompiledRule[];
  /** Ask rules: a match (and no deny) makes the call wait for an approval. */
  readonly asks: readonly CompiledRule[];
  readonly allows: readonly CompiledRule[];
  /** Does any allow candidate carry a rate limit? */
  readonly rated: boolean;
}

/**
 * The compiled rules of one document. Past
 * {@linkcode callIndexEntriesMax} call names, candidates are computed
 * again on every request instead of being memoised.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CompiledRule } from "./rule.ts";
 * import { RuleSet } from "./rule_set.ts";
 * const rate = { clock: () => 0, sharedKey: null };
 * const set = new RuleSet([
 *   new CompiledRule({ effect: "allow", calls: ["fs.*"] }, 0, rate),
 *   new CompiledRule({ effect: "deny", calls: ["fs.write"] }, 1, rate),
 * ]);
 * const c = set.candidates("fs.write");
 * assert.deepEqual([c.denies.length, c.allows.length, c.rated], [1, 1, false]);
 * ```
 */
export class RuleSet {
  /** Every rule, in document order. */
  readonly rules: readonly CompiledRule[];
  readonly #byCall = new Map<string, Candidates>();
  readonly #rated: readonly CompiledRule[];
  /** The document's imports rules (see `imports.ts`); none = the whole store. */
  readonly imports: ImportRules | null;

  /**
   * @param rules the document's compiled call rules, in order
   * @param imports its imports rules
   */
  constructor(rules: readonly CompiledRule[], imports: ImportRules | null = null) {
    this.rules = rules;
    this.imports = imports;
    this.#rated = rules.filter((r) => r.rate !== null);
  }

  /**
   * The rules `call` can match.
   *
   * @param call the syscall name
   * @returns its candidates (memoised while there is room)
   */
  candidates(call: string): Candidates {
    const memo = this.#byCall.get(call);
    if (memo !== undefined) return memo;
    const matching = this.rules.filter((r) => r.coversCall(call));
    const allows = matching.filter((r) => r.effect === "allow");
    const found: Candidates = {
      denies: matching.filter((r) => r.effect === "deny"),
      asks: matching.filter((r) => r.effect === "ask"),
      allows,
      rated: allows.some((r) => r.rate !== null),
    };
    if (this.#byCall.size < callIndexEntriesMax) this.#byCall.set(call, found);
    return found;
  }

  /**
   * Drops the rate buckets of a key that will never be used again.
   *
   * @param rateKey the key (an exited agent's)
   * @returns how many buckets were dropped
   */
  forgetRateKey(rateKey: string): number {
    let dropped = 0;
    for (const rule of this.#rated) if (rule.rate!.forget(rateKey)) dropped++;
    return dropped;
  }
}
