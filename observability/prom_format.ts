/**
 * Rendering of the Prometheus text exposition format 0.0.4: escaping, sample
 * values and the lines of one series.
 *
 * @module
 */

import type { Histogram, Series } from "./metric_types.ts";

/**
 * Escape a label value for the text format (`\\`, `\"`, `\n`).
 *
 * @param value raw label value
 * @returns escaped value, without the surrounding quotes
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/**
 * Escape a help text for the text format (`\\`, `\n`).
 *
 * @param help raw help text
 * @returns the escaped text
 */
export function escapeHelp(help: string): string {
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

/** The `{name="value",...}` of a series (with `le` for a histogram bucket); "" without labels. */
export function renderLabels(
  names: readonly string[],
  values: readonly string[],
  le?: string,
): string {
  if (names.length === 0 && le === undefined) return "";
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`);
  if (le !== undefined) parts.push(`le="${le}"`);
  return `{${parts.join(",")}}`;
}

/** Append the `_bucket` (cumulative), `_sum` and `_count` lines of one histogram series to `lines`. */
export function renderHistogram(lines: string[], metric: Histogram, s: Series): void {
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
