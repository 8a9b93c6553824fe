/**
 * The one token bucket every rate in agentos uses: a refill rate per
 * second, a burst (the bucket's size, one second's worth unless told), and
 * an injected clock so tests never sleep.
 *
 * @module
 */

/** Options of a {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  perSec: number;
  /** Most tokens the bucket holds (default `perSec`: one second's worth). */
  burst?: number;
  /** Monotonic clock, ms (default `performance.now`). */
  nowMs?: () => number;
  /** How far below zero `charge` may take the bucket, tokens (default 0: no debt). */
  debtMax?: number;
}

/** See the module doc. A new bucket starts full. */
export class TokenBucket {
  #perSec: number;
  #burst: number;
  #debtMax: number;
  #now: () => number;
  #tokens: number;
  #atMs: number;

  /** @param options rate, burst, clock, debt */
  constructor(options: TokenBucketOptions) {
    this.#perSec = options.perSec;
    this.#burst = options.burst ?? options.perSec;
    this.#debtMax = options.debtMax ?? 0;
    this.#now = options.nowMs ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#atMs = this.#now();
  }

  /** Tokens in the bucket now (negative while in debt). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Whether the bucket is full (an idle bucket can be forgotten without changing anything). */
  get full(): boolean {
    return this.tokens >= this.#burst;
  }

  /** Change the rate (and burst, default one second's worth); what is in the bucket is kept, capped. */
  setRate(perSec: number, burst: number = perSec): void {
    this.#refill();
    this.#perSec = perSec;
    this.#burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  /**
   * Take `n` tokens if there are that many.
   *
   * @param n tokens to take
   * @param nowMs the clock's reading, when the caller already has it (one
   *   read for several buckets on the same clock)
   * @returns false (taking nothing) otherwise
   * @example
   * ```ts
   * const bucket = new TokenBucket({ perSec: 10 });
   * bucket.take(); // true
   * ```
   */
  take(n = 1, nowMs: number = this.#now()): boolean {
    this.#refill(nowMs);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Take `n` tokens whatever is there, down to `-debtMax` (a cost found out after the fact). */
  charge(n: number): void {
    this.#refill();
    this.#tokens = Math.max(-this.#debtMax, this.#tokens - n);
  }

  /** Seconds until `n` tokens are there (0 if they are now). */
  secondsUntil(n = 1): number {
    this.#refill();
    return this.#tokens >= n ? 0 : (n - this.#tokens) / this.#perSec;
  }

  #refill(now: number = this.#now()): void {
    if (now > this.#atMs) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#atMs) * this.#perSec / 1000);
    }
    this.#atMs = now;
  }
}
