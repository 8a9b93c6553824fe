/**
 * A small Prometheus registry producing the text exposition format 0.0.4.
 *
 * Counters, gauges and histograms with declared label names. Every metric
 * holds at most `seriesPerMetricMax` label combinations; updates to further
 * combinations are dropped and counted in
 * `agentos_metrics_series_dropped_total{metric="..."}`. Updates through a
 * bound handle (`metric.labels({...})`) do not allocate; updates that pass a
 * labels object build a lookup key string each time.
 *
 * @module
 */

import { assert } from "../lib/mod.ts";

/** Label combinations per metric. */
export const seriesPerMetricMax = 1000;
/** Metrics per registry (keeps the dropped-series counter itself bounded). */
export const metricsPerRegistryMax = 512;
/** Collect hooks per registry. */
export const collectorsMax = 64;
/** Name of the counter that counts updates dropped by the series bound. */
export const seriesDroppedMetricName = "agentos_metrics_series_dropped_total";

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values by label name. */
export type Labels = Readonly<Record<string, string | number>>;

/** The three metric types this registry exposes. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** Restricts `expose` to series whose `tenant` label has this value. */
export interface ExposeFilter {
  /** Only series with `tenant="<tenant>"`; metrics without the label are left out. */
  tenant: string;
}

/** Throw an assertion error; hot paths call this behind an `if` so the message is only built on failure. */
function fail(message: string): never {
  throw new Error(`assertion failed: ${message}`);
}

/**
 * Escape a label value for the text format (`\\`, `\"`, `\n`).
 *
 * @param value raw label value
 * @returns escaped value, without the surrounding quotes
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/**
 * Format a sample value as the text format expects (`+Inf`, `-Inf`, `NaN`).
 *
 * @param value the number
 * @returns its text form
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * `count` bucket bounds growing by `factor` from `start`.
 *
 * @param start first upper bound, > 0
 * @param factor growth factor, > 1
 * @param count number of bounds, >= 1
 * @returns the bounds
 * @example
 * ```ts
 * import { exponentialBuckets } from "./metrics.ts";
 * exponentialBuckets(1, 10, 3); // [1, 10, 100]
 * ```
 */
export function exponentialBuckets(
  start: number,
  factor: number,
  count: number,
): number[] {
  assert(
    start > 0 && factor > 1 && Number.isInteger(count) && count >= 1,
    "exponentialBuckets",
  );
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

class Series {
  value = 0;
  sum = 0;
  count = 0;
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
  /** Record one observation. */
  observe(value: number): void;
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
      observe: (value: number) => {
        if (Number.isNaN(value)) fail(`${this.name}: observed NaN`);
        if (s !== undefined) this.#record(s, value);
        else this.dropped();
      },
    };
  }

  #record(s: Series, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    s.buckets![i]++;
    s.sum += value;
    s.count++;
  }
}

/**
 * The registry: creates metrics and renders the exposition.
 *
 * @example
 * ```ts
 * import { Registry } from "./metrics.ts";
 * const registry = new Registry();
 * const calls = registry.counter("agentos_syscalls_total", "Syscalls served.", ["call"]);
 * calls.inc({ call: "fs.read" });
 * registry.expose(); // "# HELP agentos_syscalls_total Syscalls served.\n..."
 * ```
 */
export class Registry {
  readonly #metrics = new Map<string, Counter | Gauge | Histogram>();
  readonly #reserved = new Set<string>();
  readonly #collectors: (() => void)[] = [];
  readonly #dropped: Counter;

  constructor() {
    this.#dropped = this.counter(
      seriesDroppedMetricName,
      "Metric updates dropped because the metric reached its series bound.",
      ["metric"],
    );
  }

  /** Updates dropped by the series bound, all metrics together. */
  get seriesDropped(): number {
    let total = 0;
    for (const s of this.#dropped.series.values()) total += s.value;
    return total;
  }

  /**
   * Register a counter.
   *
   * @param name metric name, ending in `_total`
   * @param help one-line description (with the unit)
   * @param labelNames declared label names
   * @returns the counter
   * @throws {Error} on an invalid or duplicate name, or invalid label names
   */
  counter(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
  ): Counter {
    assert(name.endsWith("_total"), `counter ${name} must end in _total`);
    return this.#add(
      new Counter(
        name,
        help,
        this.#check(name, labelNames, []),
        this.#onDropped,
      ),
    );
  }

  /**
   * Register a gauge.
   *
   * @param name metric name (not ending in `_total`)
   * @param help one-line description (with the unit)
   * @param labelNames declared label names
   * @returns the gauge
   * @throws {Error} on an invalid or duplicate name, or invalid label names
   */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    assert(!name.endsWith("_total"), `gauge ${name} must not end in _total`);
    return this.#add(
      new Gauge(name, help, this.#check(name, labelNames, []), this.#onDropped),
    );
  }

  /**
   * Register a histogram.
   *
   * @param name metric name (the unit last, e.g. `_seconds`)
   * @param help one-line description
   * @param labelNames declared label names (not `le`)
   * @param buckets finite upper bounds, strictly increasing
   * @returns the histogram
   * @throws {Error} on invalid names or buckets
   */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    assert(
      !/_(total|bucket|sum|count)$/.test(name),
      `histogram ${name}: reserved suffix`,
    );
    assert(buckets.length >= 1, `histogram ${name}: no buckets`);
    for (let i = 0; i < buckets.length; i++) {
      assert(
        Number.isFinite(buckets[i]),
        `histogram ${name}: bucket ${buckets[i]}`,
      );
      assert(
        i === 0 || buckets[i] > buckets[i - 1],
        `histogram ${name}: buckets not increasing`,
      );
    }
    assert(
      !labelNames.includes("le"),
      `histogram ${name}: label le is reserved`,
    );
    const derived = ["_bucket", "_sum", "_count"].map((s) => name + s);
    const labels = this.#check(name, labelNames, derived);
    return this.#add(
      new Histogram(name, help, labels, this.#onDropped, buckets),
    );
  }

  /**
   * Run `fn` before every exposition (to refresh gauges from live state).
   *
   * @param fn the hook; it must not throw
   * @throws {Error} past `collectorsMax` hooks
   */
  onCollect(fn: () => void): void {
    assert(this.#collectors.length < collectorsMax, "too many collectors");
    this.#collectors.push(fn);
  }

  /**
   * Render the text exposition format 0.0.4.
   *
   * @param filter when given, only series whose `tenant` label equals
   *   `filter.tenant` (metrics without a `tenant` label are left out)
   * @returns the exposition, ending in a newline
   */
  expose(filter?: ExposeFilter): string {
    for (const fn of this.#collectors) fn();
    const lines: string[] = [];
    for (const metric of this.#metrics.values()) {
      const tenantIndex = metric.labelNames.indexOf("tenant");
      if (filter !== undefined && tenantIndex < 0) continue;
      lines.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`);
      lines.push(`# TYPE ${metric.name} ${metric.kind}`);
      for (const s of metric.series.values()) {
        if (
          filter !== undefined && s.labelValues[tenantIndex] !== filter.tenant
        ) continue;
        if (metric instanceof Histogram) renderHistogram(lines, metric, s);
        else {lines.push(
            `${metric.name}${renderLabels(metric.labelNames, s.labelValues)} ${formatValue(s.value)}`,
          );}
      }
    }
    return lines.join("\n") + "\n";
  }

  readonly #onDropped = (metric: string): void => {
    this.#dropped.inc({ metric });
  };

  #check(
    name: string,
    labelNames: readonly string[],
    derived: string[],
  ): readonly string[] {
    assert(
      metricNamePattern.test(name),
      `invalid metric name ${JSON.stringify(name)}`,
    );
    assert(this.#metrics.size < metricsPerRegistryMax, "too many metrics");
    for (const n of [name, ...derived]) {
      assert(!this.#reserved.has(n), `metric name ${n} already registered`);
    }
    const seen = new Set<string>();
    for (const label of labelNames) {
      assert(
        labelNamePattern.test(label),
        `${name}: invalid label name ${JSON.stringify(label)}`,
      );
      assert(!label.startsWith("__"), `${name}: label ${label} is reserved`);
      assert(!seen.has(label), `${name}: duplicate label ${label}`);
      seen.add(label);
    }
    for (const n of [name, ...derived]) this.#reserved.add(n);
    return Object.freeze([...labelNames]);
  }

  #add<M extends Counter | Gauge | Histogram>(metric: M): M {
    this.#metrics.set(metric.name, metric);
    if (metric.labelNames.length === 0) metric.labels(); // unlabelled: expose 0
    return metric;
  }
}

function renderLabels(
  names: readonly string[],
  values: readonly string[],
  le?: string,
): string {
  if (names.length === 0 && le === undefined) return "";
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`);
  if (le !== undefined) parts.push(`le="${le}"`);
  return `{${parts.join(",")}}`;
}

function renderHistogram(lines: string[], metric: Histogram, s: Series): void {
  const buckets = s.buckets!;
  let cumulative = 0;
  for (let i = 0; i <= metric.bounds.length; i++) {
    cumulative += buckets[i];
    const le = i < metric.bounds.length ? formatValue(metric.bounds[i]) : "+Inf";
    lines.push(
      `${metric.name}_bucket${renderLabels(metric.labelNames, s.labelValues, le)} ${cumulative}`,
    );
  }
  const labels = renderLabels(metric.labelNames, s.labelValues);
  lines.push(`${metric.name}_sum${labels} ${formatValue(s.sum)}`);
  lines.push(`${metric.name}_count${labels} ${s.count}`);
}
