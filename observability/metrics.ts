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
 * The metric types are in `metric_types.ts` and the text rendering in
 * `prom_format.ts`; this file re-exports what they make public.
 *
 * @module
 */

import { assert } from "../lib/mod.ts";
import { Counter, Gauge, Histogram } from "./metric_types.ts";
import { escapeHelp, formatValue, renderHistogram, renderLabels } from "./prom_format.ts";

export {
  type BoundCounter,
  type BoundGauge,
  type BoundHistogram,
  Counter,
  Gauge,
  Histogram,
  type Labels,
  type MetricKind,
  seriesPerMetricMax,
} from "./metric_types.ts";
export { escapeLabelValue, formatValue } from "./prom_format.ts";

/** Metrics per registry (keeps the dropped-series counter itself bounded). */
export const metricsPerRegistryMax = 512;
/** Collect hooks per registry. */
export const collectorsMax = 64;
/** Name of the counter that counts updates dropped by the series bound. */
export const seriesDroppedMetricName = "agentos_metrics_series_dropped_total";

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Restricts `expose` to series whose `tenant` label has this value. */
export interface ExposeFilter {
  /** Only series with `tenant="<tenant>"`; metrics without the label are left out. */
  tenant: string;
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
