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
  if (args === null || typeof args !== "object") return clip(primitive(args));
  if (Array.isArray(args)) return `[…${args.length}]`;
  // Flat and hand-rolled: this runs for every kept syscall event, so it must
  // not cost a full JSON.stringify with a replacer (5–10× slower).
  let out = "{";
  for (const key in args) {
    const value = (args as Record<string, unknown>)[key];
    if (value === undefined) continue;
    out += `${out.length > 1 ? "," : ""}${JSON.stringify(key)}:${primitive(value)}`;
    if (out.length >= summaryCharsMax) return clip(out);
  }
  return out + "}";
}

function primitive(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value.length > stringCharsMax
        ? `${JSON.stringify(value.slice(0, stringCharsMax)).slice(0, -1)}…(${value.length})"`
        : JSON.stringify(value);
    case "number":
    case "boolean":
      return String(value);
    case "undefined":
      return "undefined";
    case "object":
      return value === null ? "null" : Array.isArray(value) ? `[…${value.length}]` : "{…}";
    default:
      return `(${typeof value})`;
  }
}

function clip(text: string): string {
  return text.length > summaryCharsMax ? `${text.slice(0, summaryCharsMax - 1)}…` : text;
}
