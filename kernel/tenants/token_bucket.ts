/**
 * A token bucket whose rate is given on every take (so a quota change
 * applies at once): burst = one second's worth of tokens.
 *
 * @module
 */

/** See the module doc. */
export class TokenBucket {
  #tokens = Number.NaN;
  #atMs = 0;

  /**
   * Take `n` tokens at time `nowMs` from a bucket refilled at `perSec`.
   *
   * @returns false (taking nothing) when fewer than `n` tokens are there
   * @example
   * ```ts
   * const bucket = new TokenBucket();
   * bucket.take(1, performance.now(), 10); // true
   * ```
   */
  take(n: number, nowMs: number, perSec: number): boolean {
    this.#tokens = Number.isNaN(this.#tokens)
      ? perSec
      : Math.min(perSec, this.#tokens + (nowMs - this.#atMs) * perSec / 1000);
    this.#atMs = nowMs;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
