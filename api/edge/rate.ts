/**
 * Token buckets keyed by a string (an API key hash, a client address), in
 * one bounded LRU map. A bucket may go into debt (charges after the fact,
 * e.g. a rejected body), so abuse that was admitted still costs its sender
 * the next requests.
 *
 * @module
 */

/** The answer of {@linkcode RateLimiter.take}. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Options of a {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained tokens per second. */
  ratePerSec: number;
  /** Bucket size, tokens (also the most one take may cost). */
  burst: number;
  /** Most buckets held; past it the least recently used is dropped (it comes back full). */
  bucketsMax: number;
  /** Clock, ms. @default Date.now */
  nowMs?: () => number;
}

/**
 * Per-key token buckets.
 *
 * @example
 * ```ts
 * const rl = new RateLimiter({ ratePerSec: 1, burst: 2, bucketsMax: 10 });
 * rl.take("k").ok; // true
 * rl.take("k").ok; // true
 * rl.take("k").ok; // false
 * ```
 */
export class RateLimiter {
  /** Buckets dropped because the map was full. */
  evicted = 0;
  /** Takes refused. */
  refused = 0;
  readonly ratePerSec: number;
  readonly burst: number;
  #bucketsMax: number;
  #now: () => number;
  #buckets = new Map<string, Bucket>();

  /** @param options rate, burst, map bound, clock */
  constructor(options: RateLimiterOptions) {
    this.ratePerSec = options.ratePerSec;
    this.burst = options.burst;
    this.#bucketsMax = options.bucketsMax;
    this.#now = options.nowMs ?? Date.now;
  }

  /** Buckets held. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Take `tokens` (capped at the burst, so any request can pass eventually)
   * if the bucket holds them.
   *
   * @param key whose bucket
   * @param tokens cost of this request
   * @returns ok, or how long until the bucket holds the cost, seconds (≥ 1)
   */
  take(key: string, tokens = 1): RateDecision {
    const cost = Math.min(tokens, this.burst);
    const bucket = this.#refill(key);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { ok: true };
    }
    this.refused++;
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((cost - bucket.tokens) / this.ratePerSec)) };
  }

  /**
   * Charge `tokens` after the fact; the bucket may go into debt down to
   * minus one burst.
   *
   * @param key whose bucket
   * @param tokens what to charge
   */
  charge(key: string, tokens: number): void {
    const bucket = this.#refill(key);
    bucket.tokens = Math.max(-this.burst, bucket.tokens - tokens);
  }

  /** The bucket of `key`, refilled to now and made most recently used. */
  #refill(key: string): Bucket {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, atMs: now };
      if (this.#buckets.size >= this.#bucketsMax) {
        const oldest = this.#buckets.keys().next().value as string;
        this.#buckets.delete(oldest);
        this.evicted++;
      }
    } else {
      this.#buckets.delete(key);
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.atMs) / 1000) * this.ratePerSec);
      bucket.atMs = now;
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }
}
