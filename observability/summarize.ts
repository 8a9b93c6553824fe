/**
 * One-line summaries of syscall arguments for traces and event streams:
 * bounded in length, strings clipped, never the full payload.
 *
 * @module
 */

/** Longest summary, characters. */
export const summaryCharsMax = 160;
const stringCharsMax = 48;

/**
 * Summarise `args` as compact JSON-ish text of at most `summaryCharsMax`.
 *
 * @example
 * ```ts
 * summarizeArgs({ path: "a.txt", text: "x".repeat(1000) });
 * // '{"path":"a.txt","text":"xxxx…(1000)"}'
 * ```
 */
export function summarizeArgs(args: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(args, (_key, value) =>
      typeof value === "string" && value.length > stringCharsMax
        ? `${value.slice(0, stringCharsMax)}…(${value.length})`
        : value) ?? "";
  } catch {
    text = "(unserialisable)";
  }
  return text.length > summaryCharsMax ? `${text.slice(0, summaryCharsMax - 1)}…` : text;
}
