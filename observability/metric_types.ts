/**
 * The three metric types of the registry — {@linkcode Counter},
 * {@linkcode Gauge}, {@linkcode Histogram} — their bound handles, and the
 * series they hold: at most `seriesPerMetricMax` label combinations per
 * metric, updates to further ones dropped and reported to the registry.
 * Create them through `Registry` (`metrics.ts`).
 *
 * @module
 */

import { assert } from "../lib/mod.ts";

/** Label combinations per metric. */
export const seriesPerMetricMax = 1000;

/** Label values by label name. */
export type Labels = Readonly<Record<string, string | number>>;

/** The three metric types this registry exposes. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** Throw an assertion error; hot paths call this behind an `if` so the message is only built on failure. */
function fail(message: string): never {
  throw new Error(`assertion failed: ${message}`);
}

/** One label combination of a metric: its value, or its buckets, sum and count for a histogram. */
export class Series {
  /** The value of a counter or gauge series. */
  value = 0;
  /** The sum of a histogram series' observations. */
  sum = 0;
  /** The number of a histogram series' observations. */
  count = 0;
  /**
   * @param labelValues the label values, in the metric's label order
   * @param buckets per-bucket counts (the last one `+Inf`) for a histogram, else null
   */
  constructor(
    readonly labelValues: readonly string[],
    readonly buckets: Float64Array | null,
  ) {}
}

/** Shared machinery of counters, gauges and histograms. */
abstract class Metric {
  abstract readonly kind: MetricKind;
  /** Series by key; insertion order is exposition order. */
  readonly series = new Map<string, Series>();
  readonly #onDropped: (metric: string) => void;
  /**
   * @param name metric name
   * @param help help text
   * @param labelNames declared label names, in exposition order
   */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    onDropped: (metric: string) => void,
  ) {
    this.#onDropped = onDropped;
  }

  /** Label combinations currently held. */
  get seriesCount(): number {
    return this.series.size;
  }

  protected bucketCount(): number {
    return -1;
  }

  /** Find or create the series for `labels`; `undefined` when over the bound. */
  protected resolve(labels: Labels | undefined): Series | undefined {
    const names = this.labelNames;
    if (names.length === 0) {
      if (labels !== undefined && Object.keys(labels).length !== 0) {
        fail(`${this.name}: no labels declared`);
      }
      return this.#get("", []);
    }
    if (labels === undefined) {
      fail(`${this.name}: labels required (${names.join(", ")})`);
    }
    let key = "";
    for (let i = 0; i < names.length; i++) {
      const v = labels[names[i]];
      if (v === undefined) fail(`${this.name}: missing label ${names[i]}`);
      const s = typeof v === "string" ? v : String(v);
      // One label: the value is the key. More: length-prefixed, unambiguous.
      key = names.length === 1 ? s : `${key}${s.length}:${s}`;
    }
    const existing = this.series.get(key);
    if (existing !== undefined) return existing;
    assert(
      Object.keys(labels).length === names.length,
      `${this.name}: unexpected labels`,
    );
    return this.#get(key, names.map((n) => String(labels[n])));
  }

  #get(key: string, values: string[]): Series | undefined {
    const existing = this.series.get(key);
    if (existing !== undefined) return existing;
    if (this.series.size >= seriesPerMetricMax) return undefined;
    const n = this.bucketCount();
    const series = new Series(values, n < 0 ? null : new Float64Array(n + 1));
    this.series.set(key, series);
    return series;
  }

  /** Count one dropped update (series over the bound). */
  protected dropped(): void {
    this.#onDropped(this.name);
  }
}

/** A handle bound to one label combination; updates do not allocate. */
export interface BoundCounter {
  /** Add `n` (>= 0). */
  inc(n?: number): void;
}

/** A monotonically increasing counter; the name ends in `_total`. */
export class Counter extends Metric {
  /** Always `"counter"`. */
  readonly kind = "counter" as const;

  /**
   * Add `n` to a series.
   *
   * @param labels label values (omit for unlabelled counters)
   * @param n amount, finite and >= 0
   * @default n 1
   * @throws {Error} on missing/unknown labels or a negative amount
   */
  inc(labels?: Labels, n = 1): void {
    if (!(Number.isFinite(n) && n >= 0)) {
      fail(`${this.name}: counter increment ${n}`);
    }
    const s = this.resolve(labels);
    if (s !== undefined) s.value += n;
    else this.dropped();
  }

  /**
   * A handle for one label combination.
   *
   * @param labels label values
   * @returns the handle (its updates count as dropped if the series is over
   *   the bound)
   */
  labels(labels?: Labels): BoundCounter {
    const s = this.resolve(labels);
    const name = this.name;
    return {
      inc: (n = 1) => {
        if (!(Number.isFinite(n) && n >= 0)) {
          fail(`${name}: counter increment ${n}`);
        }
        if (s !== undefined) s.value += n;
        else this.dropped();
      },
    };
  }

  /**
   * Current value of a series.
   *
   * @param labels label values
   * @returns the value, 0 if the series does not exist
   */
  value(labels?: Labels): number {
    return this.#peek(labels)?.value ?? 0;
  }

  #peek(labels?: Labels): Series | undefined {
    for (const s of this.series.values()) {
      if (
        this.labelNames.every((n, i) => String(labels?.[n]) === s.labelValues[i])
      ) return s;
    }
    return undefined;
  }
}

/** A handle bound to one gauge series; updates do not allocate. */
export interface BoundGauge {
  /** Set the value. */
  set(value: number): void;
  /** Add `n` (may be negative). */
  inc(n?: number): void;
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  /** Always `"gauge"`. */
  readonly kind = "gauge" as const;

  /**
   * Set a series to `value`: `set(value)` for unlabelled gauges,
   * `set(labels, value)` otherwise.
   *
   * @param labelsOrValue label values, or the value of an unlabelled gauge
   * @param value the new value
   */
  set(value: number): void;
  set(labels: Labels | undefined, value: number): void;
  set(labelsOrValue: Labels | number | undefined, value?: number): void {
    const unlabelled = typeof labelsOrValue === "number";
    const s = this.resolve(unlabelled ? undefined : labelsOrValue);
    if (s !== undefined) s.value = unlabelled ? labelsOrValue : value!;
    else this.dropped();
  }

  /**
   * Add `n` (may be negative) to a series.
   *
   * @param labels label values, or `undefined`
   * @param n amount
   * @default n 1
   */
  inc(labels?: Labels, n = 1): void {
    const s = this.resolve(labels);
    if (s !== undefined) s.value += n;
    else this.dropped();
  }

  /**
   * A handle for one label combination.
   *
   * @param labels label values
   * @returns the handle
   */
  labels(labels?: Labels): BoundGauge {
    const s = this.resolve(labels);
    return {
      set: (value: number) => {
        if (s !== undefined) s.value = value;
        else this.dropped();
      },
      inc: (n = 1) => {
        if (s !== undefined) s.value += n;
        else this.dropped();
      },
    };
  }
}

/** A handle bound to one histogram series; observations do not allocate. */
export interface BoundHistogram {
  /** Record one observation (or `count` equal ones). */
  observe(value: number, count?: number): void;
}

/** Bucketed distribution with `_bucket`, `_sum` and `_count`. */
export class Histogram extends Metric {
  /** Always `"histogram"`. */
  readonly kind = "histogram" as const;
  /** Finite upper bounds, strictly increasing (`+Inf` is implicit). */
  readonly bounds: Float64Array;

  /**
   * Use {@linkcode Registry.histogram}.
   */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    onDropped: (metric: string) => void,
    bounds: readonly number[],
  ) {
    super(name, help, labelNames, onDropped);
    this.bounds = Float64Array.from(bounds);
  }

  protected override bucketCount(): number {
    return this.bounds.length;
  }

  /**
   * Record one observation: `observe(value)` for unlabelled histograms,
   * `observe(labels, value)` otherwise.
   *
   * @param labelsOrValue label values, or the observation of an unlabelled histogram
   * @param value the observation (not NaN)
   * @throws {Error} on NaN or bad labels
   */
  observe(value: number): void;
  observe(labels: Labels | undefined, value: number): void;
  observe(labelsOrValue: Labels | number | undefined, value?: number): void {
    const unlabelled = typeof labelsOrValue === "number";
    const v = unlabelled ? labelsOrValue : value!;
    if (typeof v !== "number" || Number.isNaN(v)) {
      fail(`${this.name}: observed ${v}`);
    }
    const s = this.resolve(unlabelled ? undefined : labelsOrValue);
    if (s !== undefined) this.#record(s, v);
    else this.dropped();
  }

  /**
   * A handle for one label combination.
   *
   * @param labels label values
   * @returns the handle
   */
  labels(labels?: Labels): BoundHistogram {
    const s = this.resolve(labels);
    return {
      observe: (value: number, count = 1) => {
        if (Number.isNaN(value)) fail(`${this.name}: observed NaN`);
        if (s !== undefined) this.#record(s, value, count);
        else this.dropped();
      },
    };
  }

  #record(s: Series, value: number, count = 1): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    s.buckets![i] += count;
    s.sum += value * count;
    s.count += count;
  }
}
