/**
 * Token buckets of rate rules. A rule's `rate` is a constraint: every
 * matching allow rule with a `rate` must have a token, or the request is
 * denied with reason `"rate"`; tokens are taken only when the whole
 * decision is an allow, one from each such rule, all or none.
 *
 * Buckets belong to one compiled policy instance and are keyed by the
 * request's `rateKey` — or, for a document compiled with a shared rate
 * key (the tenant's), by that one key whatever the request says, so all
 * evaluations through the instance share them.
 *
 * @module
 */

import { rateKeysPerRuleMax } from "./limits.ts";

/** One key's tokens. */
export interface Bucket {
  tokens: number;
  lastMs: number;
}

/**
 * The token buckets of one rule of one policy instance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimit } from "./rate.ts";
 * let now = 0;
 * const rate = new RateLimit(2, 1, () => now, null);
 * assert.equal(rate.bucketFor("a")?.tokens, 1);
 * rate.bucketFor("a")!.tokens -= 1;
 * now += 500; // one token back at 2/s
 * assert.equal(rate.bucketFor("a")?.tokens, 1);
 * ```
 */
export class RateLimit {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: () => number;
  readonly #sharedKey: string | null;
  readonly #buckets = new Map<string, Bucket>();

  /**
   * @param perSec tokens added per second
   * @param burst most tokens a bucket holds (a fresh bucket is full)
   * @param clock monotonic clock, ms
   * @param sharedKey the one key of every request, or `null` to key by the request's `rateKey`
   */
  constructor(perSec: number, burst: number, clock: () => number, sharedKey: string | null) {
    this.#perMs = perSec / 1000;
    this.#burst = burst;
    this.#clock = clock;
    this.#sharedKey = sharedKey;
  }

  /**
   * The refilled bucket of a request.
   *
   * @param rateKey the request's `rateKey` (ignored with a shared key)
   * @returns the bucket, or `null` if the rule holds
   * {@linkcode rateKeysPerRuleMax} buckets with debt and this key has none
   */
  bucketFor(rateKey: string): Bucket | null {
    const key = this.#sharedKey ?? rateKey;
    const now = this.#clock();
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      this.#refill(bucket, now);
      return bucket;
    }
    if (this.#buckets.size >= rateKeysPerRuleMax && !this.#sweep(now)) {
      return null;
    }
    const fresh = { tokens: this.#burst, lastMs: now };
    this.#buckets.set(key, fresh);
    return fresh;
  }

  /**
   * Drops the bucket of a request key that will never be used again (an
   * exited agent's). A shared bucket is never dropped.
   *
   * @param rateKey the key
   * @returns whether a bucket was dropped
   */
  forget(rateKey: string): boolean {
    return this.#sharedKey === null && this.#buckets.delete(rateKey);
  }

  #refill(bucket: Bucket, now: number): void {
    // A clock that stands still, goes back or is NaN refills nothing.
    if (!(now > bucket.lastMs)) return;
    const tokens = bucket.tokens + (now - bucket.lastMs) * this.#perMs;
    bucket.tokens = tokens < this.#burst ? tokens : this.#burst;
    bucket.lastMs = now;
  }

  /** Drops buckets that are full again; reports whether room was made. */
  #sweep(now: number): boolean {
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.#burst) this.#buckets.delete(key);
    }
    return this.#buckets.size < rateKeysPerRuleMax;
  }
}

/** What {@linkcode takeTokens} needs of a rule. */
export interface RatedRule {
  readonly rate: RateLimit | null;
}

/**
 * All or none: a token from the bucket of every rule in `rated`, or
 * none at all.
 *
 * @param rated the matching allow rules that have a `rate`
 * @param rateKey the request's `rateKey`
 * @param take whether to take the tokens (`false`: only check that they are there)
 * @returns the first rule without a token, or `null` when every rule had one
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimit, takeTokens } from "./rate.ts";
 * const rule = { rate: new RateLimit(1, 1, () => 0, null) };
 * assert.equal(takeTokens([rule], "k", false), null, "a check takes nothing");
 * assert.equal(takeTokens([rule], "k", true), null);
 * assert.equal(takeTokens([rule], "k", true), rule);
 * ```
 */
export function takeTokens<R extends RatedRule>(rated: readonly R[], rateKey: string, take: boolean): R | null {
  const buckets: Bucket[] = [];
  for (const rule of rated) {
    const bucket = rule.rate!.bucketFor(rateKey);
    if (bucket === null || !(bucket.tokens >= 1)) return rule;
    buckets.push(bucket);
  }
  if (!take) return null;
  for (const bucket of buckets) bucket.tokens -= 1;
  return null;
}
