/**
 * Streaming anomaly detection over named series (per-agent syscall rate,
 * per-call latency) with z-scores against a running mean and variance.
 *
 * Rules, in order, for each `observe(series, value)`:
 *
 * 1. The value is scored BEFORE it is folded in, so an outlier cannot hide
 *    itself by inflating the statistics it is compared against.
 * 2. Nothing is reported until the series has `samplesMin` samples.
 * 3. The standard deviation used for scoring is floored at
 *    `max(stddevFloorRatio * |mean|, stddevFloorAbs)`, so a nearly constant
 *    series does not alarm on a tiny wobble.
 * 4. A sample with |z| > `zThreshold` is an exceedance. It is reported once
 *    `consecutiveMin` exceedances have arrived in a row (1 by default: every
 *    exceedance is reported). Use 2–3 on high-volume series where thousands
 *    of samples per minute would otherwise yield z > 3 by chance alone.
 *
 * Outlier handling (the choice this module makes): an exceedance is folded in
 * with weight `outlierWeight` (0.1 by default) instead of 1, and the
 * statistics forget exponentially with a window of `windowSamples` samples.
 * A one-off spike therefore barely moves the baseline; a sustained shift
 * keeps alarming for a while (detected) while each reduced-weight sample
 * widens the variance and drags the mean, until the shifted level scores
 * below the threshold and is folded in at full weight (re-adapted). With the
 * defaults a 20x shift of a low-noise series alarms for a few hundred samples
 * and then becomes the new normal.
 *
 * @module
 */

import { Welford } from "./welford.ts";
import { assert } from "../lib/mod.ts";

/** z-score above which a sample is an exceedance. */
export const zThresholdDefault = 3;
/** Samples a series needs before it may alarm. */
export const samplesMinDefault = 30;
/** Floor on the scoring stddev, as a fraction of |mean|. */
export const stddevFloorRatioDefault = 0.05;
/** Series tracked at once; the least recently observed is evicted past it (O(1)). */
export const seriesMaxDefault = 4096;
/** Weight with which an exceedance is folded into the statistics. */
export const outlierWeightDefault = 0.1;
/** Forgetting window of the running statistics, in samples. */
export const windowSamplesDefault = 1000;
/** Rate window length. */
export const rateWindowMsDefault = 100;
/** Keys a rate tracker follows at once; the least recently recorded is evicted past it (O(1)). */
export const rateKeysMaxDefault = 4096;
/** Empty windows reported for an idle key before it goes quiet. */
export const idleWindowsMaxDefault = 50;

/** Options for {@linkcode AnomalyDetector}; every field has a default. */
export interface AnomalyDetectorOptions {
  /** @default {3} */
  zThreshold?: number;
  /** @default {30} */
  samplesMin?: number;
  /** @default {0.05} */
  stddevFloorRatio?: number;
  /** Absolute stddev floor, in the series' own unit. @default {0} */
  stddevFloorAbs?: number;
  /** @default {4096} */
  seriesMax?: number;
  /** Weight of an exceedance when folded in, in [0, 1]. @default {0.1} */
  outlierWeight?: number;
  /** Forgetting window in samples (Infinity = never forget). @default {1000} */
  windowSamples?: number;
  /** Exceedances in a row needed to report. @default {1} */
  consecutiveMin?: number;
  /** Which side alarms. @default {"both"} */
  direction?: "both" | "up" | "down";
}

/**
 * Detector settings the kernel should use per dimension, fed by a
 * {@linkcode RateTracker} with 100 ms windows. Plain z > 3 on every window is
 * far too eager at kernel volume (hundreds of thousands of windows per hour
 * and bursty, heavy-tailed traffic); these profiles were chosen on seeds
 * 1–50 of the synthetic workload in `tests/observability/anomaly_workload.ts`
 * and are checked on held-out seeds (see `docs/benchmarks_observability.md`).
 *
 * - `rate` (events/s per agent): stddev floored at 50% of the mean (agents
 *   are bursty) and at 50/s (Poisson noise of slow agents), 2 windows in a
 *   row, upward only (an agent going quiet is not an incident).
 * - `latency` (window-mean µs per syscall name): stddev floored at 50% of
 *   the mean, 2 windows in a row (a single GC or disk stall is not an
 *   incident), upward only.
 */
export const anomalyProfiles: Readonly<{
  rate: Readonly<AnomalyDetectorOptions>;
  latency: Readonly<AnomalyDetectorOptions>;
}> = Object.freeze({
  rate: Object.freeze({
    stddevFloorRatio: 0.5,
    stddevFloorAbs: 50,
    consecutiveMin: 2,
    direction: "up" as const,
  }),
  latency: Object.freeze({
    stddevFloorRatio: 0.5,
    consecutiveMin: 2,
    direction: "up" as const,
  }),
});

/** What {@linkcode AnomalyDetector.observe} reports for an anomalous sample. */
export interface AnomalyScore {
  /** Signed z-score of the sample against the statistics before it. */
  z: number;
  /** Baseline mean before the sample. */
  mean: number;
  /** Scoring stddev (after the floor) before the sample. */
  stddev: number;
}

class SeriesState {
  readonly stats: Welford;
  streak = 0;
  constructor(windowSamples: number) {
    this.stats = new Welford(windowSamples);
  }
}

/**
 * Per-series streaming z-score detector. See the module documentation.
 *
 * @example
 * ```ts
 * import { AnomalyDetector } from "./anomaly.ts";
 * const detector = new AnomalyDetector();
 * for (let i = 0; i < 100; i++) detector.observe("lat:fs.read", 100 + (i % 7));
 * detector.observe("lat:fs.read", 2000)?.z; // ≈ 370 (floored stddev)
 * ```
 */
export class AnomalyDetector {
  /** Resolved options. */
  readonly options: Readonly<Required<AnomalyDetectorOptions>>;
  /** Series evicted (least recently observed) to make room for new ones. */
  seriesEvicted = 0;
  /** Anomalies reported. */
  alarms = 0;
  /** Insertion order is recency order: a touched series is moved to the end, the first key is evicted. */
  readonly #series = new Map<string, SeriesState>();

  /**
   * @param options thresholds and bounds; see {@linkcode AnomalyDetectorOptions}
   * @throws {Error} on out-of-range options
   */
  constructor(options: AnomalyDetectorOptions = {}) {
    const o = {
      zThreshold: options.zThreshold ?? zThresholdDefault,
      samplesMin: options.samplesMin ?? samplesMinDefault,
      stddevFloorRatio: options.stddevFloorRatio ?? stddevFloorRatioDefault,
      stddevFloorAbs: options.stddevFloorAbs ?? 0,
      seriesMax: options.seriesMax ?? seriesMaxDefault,
      outlierWeight: options.outlierWeight ?? outlierWeightDefault,
      windowSamples: options.windowSamples ?? windowSamplesDefault,
      consecutiveMin: options.consecutiveMin ?? 1,
      direction: options.direction ?? "both",
    } as const;
    assert(o.zThreshold > 0, "zThreshold > 0");
    assert(Number.isInteger(o.samplesMin) && o.samplesMin >= 2, "samplesMin");
    assert(o.stddevFloorRatio >= 0 && o.stddevFloorAbs >= 0, "stddev floors");
    assert(Number.isInteger(o.seriesMax) && o.seriesMax >= 1, "seriesMax");
    assert(o.outlierWeight >= 0 && o.outlierWeight <= 1, "outlierWeight");
    assert(o.windowSamples >= o.samplesMin, "windowSamples >= samplesMin");
    assert(
      Number.isInteger(o.consecutiveMin) && o.consecutiveMin >= 1,
      "consecutiveMin",
    );
    this.options = Object.freeze(o);
  }

  /** Series currently tracked. */
  get seriesCount(): number {
    return this.#series.size;
  }

  /**
   * Score `value` against the series' history, then fold it in.
   *
   * @param series series name (keep these strings stable; they are map keys)
   * @param value the sample; non-finite samples are ignored
   * @returns the score when the sample is anomalous, else `undefined`
   */
  observe(series: string, value: number): AnomalyScore | undefined {
    if (!Number.isFinite(value)) return undefined;
    const state = this.#touch(series);
    const stats = state.stats;
    const o = this.options;
    if (stats.count < o.samplesMin) {
      stats.push(value);
      return undefined;
    }
    const mean = stats.mean;
    const stddev = Math.max(
      stats.stddev,
      o.stddevFloorRatio * Math.abs(mean),
      o.stddevFloorAbs,
    );
    const deviation = value - mean;
    const z = stddev > 0 ? deviation / stddev : deviation === 0 ? 0 : deviation * Infinity;
    const exceeds = o.direction === "both"
      ? Math.abs(z) > o.zThreshold
      : o.direction === "up"
      ? z > o.zThreshold
      : z < -o.zThreshold;
    if (!exceeds) {
      state.streak = 0;
      stats.push(value);
      return undefined;
    }
    state.streak++;
    if (o.outlierWeight > 0) stats.push(value, o.outlierWeight);
    if (state.streak < o.consecutiveMin) return undefined;
    this.alarms++;
    return { z, mean, stddev };
  }

  /**
   * Read-only statistics of a series.
   *
   * @param series series name
   * @returns count, mean and (unfloored) stddev, or `undefined` if untracked
   */
  stats(
    series: string,
  ): { count: number; mean: number; stddev: number } | undefined {
    const state = this.#series.get(series);
    if (state === undefined) return undefined;
    const { count, mean, stddev } = state.stats;
    return { count, mean, stddev };
  }

  /**
   * Stop tracking a series (e.g. when its agent exits).
   *
   * @param series series name
   * @returns whether it was tracked
   */
  delete(series: string): boolean {
    return this.#series.delete(series);
  }

  /** The series' state, moved to the most recent end; created (evicting the least recent in O(1)) if new. */
  #touch(series: string): SeriesState {
    let state = this.#series.get(series);
    if (state !== undefined) {
      this.#series.delete(series);
    } else {
      if (this.#series.size >= this.options.seriesMax) {
        this.#series.delete(this.#series.keys().next().value!);
        this.seriesEvicted++;
      }
      state = new SeriesState(this.options.windowSamples);
    }
    this.#series.set(series, state);
    return state;
  }
}

/**
 * Receives one closed window of a {@linkcode RateTracker} key.
 *
 * @param key the key given to `record`
 * @param ratePerSec events in the window, per second
 * @param count events in the window
 * @param valueMean mean of the values recorded in the window (NaN if none)
 */
export type RateWindowSink = (
  key: string,
  ratePerSec: number,
  count: number,
  valueMean: number,
) => void;

/** Options for {@linkcode RateTracker}. */
export interface RateTrackerOptions {
  /** Window length. @default {100} */
  windowMs?: number;
  /** Keys followed at once; least recently recorded is evicted past it. @default {4096} */
  keysMax?: number;
  /** Empty windows reported after a key's last event before it goes quiet. @default {50} */
  idleWindowsMax?: number;
}

class KeyWindow {
  windowStartMs: number;
  /** Start of the window of the key's last `record`: its place in the recency order. */
  recordedStartMs: number;
  count = 0;
  sum = 0;
  idleWindows = 0;
  constructor(windowStartMs: number) {
    this.windowStartMs = windowStartMs;
    this.recordedStartMs = windowStartMs;
  }
}

/**
 * Turns event timestamps per key into per-window rates (and the mean of a
 * value recorded with each event, e.g. latency), handing each closed window
 * to a sink — typically `AnomalyDetector.observe`.
 *
 * A window closes when an event for the same key lands in a later window or
 * when `flush(nowMs)` passes its end; empty windows in between are reported
 * as rate 0, up to `idleWindowsMax` in a row, after which the key stays quiet
 * until its next event. Events older than the open window count towards it.
 *
 * Past `keysMax` keys, the key least recently recorded is evicted in O(1):
 * the key map's insertion order is the recency order, and a key moves to its
 * end on its first `record` in a new window (so "recently" has the window's
 * granularity and the hot path re-inserts at most once per key per window).
 *
 * @example
 * ```ts
 * import { AnomalyDetector, RateTracker } from "./anomaly.ts";
 * const detector = new AnomalyDetector();
 * const rates = new RateTracker((key, perSec) => detector.observe(key, perSec));
 * rates.record("rate:pid7", 1000.5);
 * rates.flush(1100); // closes [1000, 1100): 10 events/s
 * ```
 */
export class RateTracker {
  /** Window length in ms. */
  readonly windowMs: number;
  /** Key bound. */
  readonly keysMax: number;
  /** Idle windows reported before a key goes quiet. */
  readonly idleWindowsMax: number;
  /** Keys evicted to make room. */
  keysEvicted = 0;
  readonly #sink: RateWindowSink;
  /** Insertion order is recency order (see the class documentation). */
  readonly #keys = new Map<string, KeyWindow>();

  /**
   * @param sink receives each closed window
   * @param options window length and bounds
   * @throws {Error} on out-of-range options
   */
  constructor(sink: RateWindowSink, options: RateTrackerOptions = {}) {
    this.windowMs = options.windowMs ?? rateWindowMsDefault;
    this.keysMax = options.keysMax ?? rateKeysMaxDefault;
    this.idleWindowsMax = options.idleWindowsMax ?? idleWindowsMaxDefault;
    assert(this.windowMs > 0, "windowMs > 0");
    assert(Number.isInteger(this.keysMax) && this.keysMax >= 1, "keysMax");
    assert(
      Number.isInteger(this.idleWindowsMax) && this.idleWindowsMax >= 0,
      "idleWindowsMax",
    );
    this.#sink = sink;
  }

  /** Keys currently followed. */
  get keyCount(): number {
    return this.#keys.size;
  }

  /**
   * Count one event for `key` at `timeMs`.
   *
   * @param key stable key string (e.g. `"rate:pid7"`)
   * @param timeMs event time in ms
   * @param value optional value averaged per window (e.g. latency)
   * @default value 0
   */
  record(key: string, timeMs: number, value = 0): void {
    this.recordMany(key, timeMs, 1, value);
  }

  /**
   * Count `count` events for `key` at `timeMs` at once (what a caller that
   * tallies a window itself hands over), whose values sum to `sum`.
   *
   * @param key stable key string
   * @param timeMs time of the events in ms (one window's)
   * @param count events, ≥ 1
   * @param sum sum of their values
   */
  recordMany(key: string, timeMs: number, count: number, sum: number): void {
    const start = this.#windowStart(timeMs);
    let window = this.#keys.get(key);
    if (window === undefined) {
      if (this.#keys.size >= this.keysMax) {
        this.#keys.delete(this.#keys.keys().next().value!);
        this.keysEvicted++;
      }
      window = new KeyWindow(start);
      this.#keys.set(key, window);
    } else {
      if (start > window.windowStartMs) this.#advance(key, window, start);
      if (start > window.recordedStartMs) {
        window.recordedStartMs = start;
        this.#keys.delete(key);
        this.#keys.set(key, window);
      }
    }
    window.count += count;
    window.sum += sum;
  }

  /**
   * Close every window that ended at or before `nowMs`.
   *
   * @param nowMs current time in ms
   */
  flush(nowMs: number): void {
    const start = this.#windowStart(nowMs);
    for (const [key, window] of this.#keys) {
      if (start > window.windowStartMs) this.#advance(key, window, start);
    }
  }

  /**
   * Stop following a key (its open window is discarded).
   *
   * @param key the key
   * @returns whether it was followed
   */
  delete(key: string): boolean {
    return this.#keys.delete(key);
  }

  #windowStart(timeMs: number): number {
    return Math.floor(timeMs / this.windowMs) * this.windowMs;
  }

  #advance(key: string, window: KeyWindow, targetStartMs: number): void {
    const perSec = 1000 / this.windowMs;
    while (window.windowStartMs < targetStartMs) {
      if (window.count > 0) {
        this.#sink(
          key,
          window.count * perSec,
          window.count,
          window.sum / window.count,
        );
        window.idleWindows = 0;
      } else if (window.idleWindows < this.idleWindowsMax) {
        this.#sink(key, 0, 0, NaN);
        window.idleWindows++;
      } else {
        window.windowStartMs = targetStartMs; // quiet: skip the rest at once
        break;
      }
      window.count = 0;
      window.sum = 0;
      window.windowStartMs += this.windowMs;
    }
  }
}
