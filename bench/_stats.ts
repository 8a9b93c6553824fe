/**
 * Helpers shared by the benchmarks: percentiles, number formatting, markdown
 * tables, waiting. Not a benchmark itself (the runner skips `_` files).
 *
 * @module
 */

/** The `p` quantile (0..1) of `xs`, nearest rank; NaN for an empty list. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  return percentile(xs, 0.5);
}

/** `x` with `digits` decimals and thousands separators; "n/a" if not finite. */
export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return "n/a";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Print a markdown table under a `###` title; numeric columns right-aligned. */
export function table(title: string, head: string[], rows: string[][]): void {
  console.log(`\n### ${title}\n`);
  console.log(`| ${head.join(" | ")} |`);
  console.log(`| ${head.map((_, i) => i === 0 ? "---" : "---:").join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `cond` every 2 ms until it holds; throw after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error("timed out waiting for a condition");
    await sleep(2);
  }
}

/** The 1, 5 and 15 minute load averages of the machine. */
export async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}
