/**
 * Adaptive sampling that keeps the measured cost of observability under a
 * share of the kernel's own CPU time.
 *
 * Each category (usually an event kind name, plus `"error"` for failed
 * syscalls) has a keep-rate in [1/1024, 1]. `shouldSample` is a per-event
 * decision from an xorshift32 generator and allocates nothing. Categories in
 * `alwaysKeptCategories` are never sampled out. The owner measures its own
 * CPU time and calls `adjust` periodically: above `overheadRatioMax` every
 * adjustable rate is multiplied by `decreaseFactor`, below half of it by
 * `increaseFactor` (a gentle recovery that avoids oscillating).
 *
 * @module
 */

import { assert } from "../lib/mod.ts";

/** Observability CPU time allowed, as a fraction of kernel CPU time. */
export const overheadRatioMax = 0.02;
/** Lowest keep-rate (one event in 1024). */
export const sampleRateMin = 1 / 1024;
/** Categories tracked by one sampler; further names share `"other"`. */
export const categoriesMax = 64;
/** Multiplier applied to rates when over budget. */
export const decreaseFactorDefault = 0.5;
/** Multiplier applied to rates when below half the budget. */
export const increaseFactorDefault = 1.25;
/** Categories that are never sampled out. */
export const alwaysKeptCategories: readonly string[] = Object.freeze([
  "denial",
  "error",
  "anomaly",
  "lifecycle",
  "limit",
]);

const u32Range = 4294967296;

/** Options for {@linkcode AdaptiveSampler}. */
export interface AdaptiveSamplerOptions {
  /** PRNG seed (non-zero after `>>> 0`; 0 is replaced). @default {0x9e3779b9} */
  seed?: number;
  /** @default {0.02} */
  overheadRatioMax?: number;
  /** @default {0.5} */
  decreaseFactor?: number;
  /** @default {1.25} */
  increaseFactor?: number;
  /** Categories never sampled out. @default {alwaysKeptCategories} */
  alwaysKept?: readonly string[];
}

/** One category's state, as exposed to /metrics. */
export interface SampleCategoryStats {
  /** Category name. */
  category: string;
  /** Current keep-rate in [1/1024, 1]. */
  rate: number;
  /** Events kept so far. */
  kept: number;
  /** Events sampled out so far. */
  dropped: number;
  /** Whether the category is never sampled out. */
  alwaysKept: boolean;
}

/** A category of one sampler, held by a hot path (see {@linkcode AdaptiveSampler.handle}). */
export interface SampleHandle {
  /** The category's name. */
  readonly name: string;
}

class Category implements SampleHandle {
  rate = 1;
  /** `rate * 2^32`, compared against a uniform u32. */
  threshold = u32Range;
  kept = 0;
  dropped = 0;
  constructor(readonly name: string, readonly alwaysKept: boolean) {}
  setRate(rate: number): void {
    this.rate = Math.min(1, Math.max(sampleRateMin, rate));
    this.threshold = this.rate * u32Range;
  }
}

/**
 * Per-category probabilistic sampler with a CPU-overhead feedback loop.
 *
 * @example
 * ```ts
 * import { AdaptiveSampler } from "./sampler.ts";
 * const sampler = new AdaptiveSampler({ seed: 42 });
 * sampler.shouldSample("denial"); // always true
 * sampler.adjust(5, 100); // 5% > 2%: rates halve
 * sampler.rate("syscall"); // 0.5
 * ```
 */
export class AdaptiveSampler {
  /** Budget as a fraction of kernel CPU time. */
  readonly overheadRatioMax: number;
  /** Rate multiplier when over budget. */
  readonly decreaseFactor: number;
  /** Rate multiplier when below half the budget. */
  readonly increaseFactor: number;
  /** Overhead share measured by the last `adjust` (NaN before any). */
  lastShare = NaN;
  readonly #categories = new Map<string, Category>();
  readonly #alwaysKept: ReadonlySet<string>;
  readonly #other: Category;
  #state: number;

  /**
   * @param options seed, budget and factors
   * @throws {Error} on out-of-range options
   */
  constructor(options: AdaptiveSamplerOptions = {}) {
    this.overheadRatioMax = options.overheadRatioMax ?? overheadRatioMax;
    this.decreaseFactor = options.decreaseFactor ?? decreaseFactorDefault;
    this.increaseFactor = options.increaseFactor ?? increaseFactorDefault;
    assert(
      this.overheadRatioMax > 0 && this.overheadRatioMax < 1,
      "overheadRatioMax in (0, 1)",
    );
    assert(
      this.decreaseFactor > 0 && this.decreaseFactor < 1,
      "decreaseFactor in (0, 1)",
    );
    assert(this.increaseFactor > 1, "increaseFactor > 1");
    this.#alwaysKept = new Set(options.alwaysKept ?? alwaysKeptCategories);
    this.#state = (options.seed ?? 0x9e3779b9) >>> 0 || 0x9e3779b9;
    this.#other = new Category("other", false);
    this.#categories.set("other", this.#other);
    for (const name of this.#alwaysKept) this.#category(name);
  }

  /**
   * Decide whether to keep one event of `category`. Does not allocate once
   * the category is known.
   *
   * @param category category name, e.g. `"syscall"`
   * @returns `true` to keep the event
   */
  shouldSample(category: string): boolean {
    return this.keep(this.#categories.get(category) ?? this.#category(category));
  }

  /**
   * The handle of a category, for {@linkcode AdaptiveSampler.keep}: what a
   * hot path holds to decide without looking the name up.
   *
   * @param category category name
   * @returns its handle (`other`'s past `categoriesMax`)
   */
  handle(category: string): SampleHandle {
    return this.#categories.get(category) ?? this.#category(category);
  }

  /**
   * Decide whether to keep one event of the category behind `handle`
   * (`shouldSample` without the lookup).
   *
   * @param handle from {@linkcode AdaptiveSampler.handle} of this sampler
   * @returns `true` to keep the event
   */
  keep(handle: SampleHandle): boolean {
    const c = handle as Category;
    if (c.threshold >= u32Range) {
      c.kept++;
      return true;
    }
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#state = x;
    if (x < c.threshold) {
      c.kept++;
      return true;
    }
    c.dropped++;
    return false;
  }

  /**
   * Feed one measurement period and move the rates.
   *
   * @param observabilityCpuMs CPU time spent on observability in the period
   * @param kernelCpuMs CPU time spent by the kernel itself in the period
   * @returns the measured share (`observabilityCpuMs / kernelCpuMs`), or NaN
   *   when `kernelCpuMs` is not positive (rates then stay as they are)
   */
  adjust(observabilityCpuMs: number, kernelCpuMs: number): number {
    if (!(kernelCpuMs > 0) || !(observabilityCpuMs >= 0)) return NaN;
    const share = observabilityCpuMs / kernelCpuMs;
    this.lastShare = share;
    let factor = 1;
    if (share > this.overheadRatioMax) factor = this.decreaseFactor;
    else if (share < this.overheadRatioMax / 2) factor = this.increaseFactor;
    if (factor !== 1) {
      for (const c of this.#categories.values()) {
        if (!c.alwaysKept) c.setRate(c.rate * factor);
      }
    }
    return share;
  }

  /**
   * Current keep-rate of a category (1 for unknown and always-kept ones
   * until their first event registers them).
   *
   * @param category category name
   * @returns the rate in [1/1024, 1]
   */
  rate(category: string): number {
    return (this.#categories.get(category) ?? this.#other).rate;
  }

  /**
   * Pin a category's rate (an operator override); `adjust` moves it later.
   *
   * @param category category name
   * @param rate clamped to [1/1024, 1]; ignored for always-kept categories
   */
  setRate(category: string, rate: number): void {
    const c = this.#categories.get(category) ?? this.#category(category);
    if (!c.alwaysKept) c.setRate(rate);
  }

  /**
   * Every category's rate and counters, for /metrics (allocates).
   *
   * @returns one entry per known category
   */
  stats(): SampleCategoryStats[] {
    return [...this.#categories.values()].map((c) => ({
      category: c.name,
      rate: c.rate,
      kept: c.kept,
      dropped: c.dropped,
      alwaysKept: c.alwaysKept,
    }));
  }

  #category(name: string): Category {
    if (this.#categories.size >= categoriesMax) return this.#other;
    const c = new Category(name, this.#alwaysKept.has(name));
    if (!c.alwaysKept) c.setRate(this.#other.rate);
    this.#categories.set(name, c);
    return c;
  }
}
