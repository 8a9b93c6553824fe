/**
 * Streaming mean and variance (Welford's algorithm, in its weighted form due
 * to West, 1979), with optional exponential forgetting.
 *
 * Each sample may carry a weight (an outlier can count as a tenth of a
 * sample). When `weightMax` is finite, the accumulated weight is capped: once
 * reached, older history is scaled down on every update, which makes the
 * statistics an exponentially weighted window of about `weightMax` samples
 * so that they can follow a level that changes for good.
 *
 * @module
 */

/**
 * Running mean and variance of a stream of numbers, O(1) memory and time.
 *
 * @example
 * ```ts
 * import { Welford } from "./welford.ts";
 * const w = new Welford();
 * for (const x of [2, 4, 4, 4, 5, 5, 7, 9]) w.push(x);
 * w.mean; // 5
 * w.variancePopulation; // 4
 * ```
 */
export class Welford {
  /** Samples pushed (each counts 1 here whatever its weight). */
  count = 0;
  /** Accumulated weight (equals `count` with unit weights and no cap). */
  weight = 0;
  /** Running mean. */
  mean = 0;
  /** Sum of weighted squared deviations from the mean. */
  m2 = 0;
  /** Cap on `weight`; `Infinity` keeps all history. */
  readonly weightMax: number;

  /**
   * @param weightMax cap on the accumulated weight (the forgetting window in
   *   samples); must be >= 2
   * @default weightMax Infinity
   * @throws {Error} when `weightMax` < 2
   */
  constructor(weightMax: number = Infinity) {
    if (!(weightMax >= 2)) {
      throw new Error("assertion failed: Welford weightMax >= 2");
    }
    this.weightMax = weightMax;
  }

  /**
   * Fold in one sample.
   *
   * @param x the sample; non-finite values are ignored
   * @param weight its weight, > 0
   * @default weight 1
   */
  push(x: number, weight = 1): void {
    if (!Number.isFinite(x) || !(weight > 0)) return;
    this.count++;
    const total = this.weight + weight;
    const delta = x - this.mean;
    this.mean += (weight / total) * delta;
    this.m2 += weight * delta * (x - this.mean);
    this.weight = total;
    if (total > this.weightMax) {
      this.m2 *= this.weightMax / total;
      this.weight = this.weightMax;
    }
  }

  /** Population variance (m2 / weight); 0 before any sample. */
  get variancePopulation(): number {
    return this.weight > 0 ? this.m2 / this.weight : 0;
  }

  /** Sample variance (m2 / (weight - 1)); 0 until weight exceeds 1. */
  get variance(): number {
    return this.weight > 1 ? this.m2 / (this.weight - 1) : 0;
  }

  /** Sample standard deviation. */
  get stddev(): number {
    return Math.sqrt(this.variance);
  }

  /** Forget everything. */
  reset(): void {
    this.count = 0;
    this.weight = 0;
    this.mean = 0;
    this.m2 = 0;
  }
}
