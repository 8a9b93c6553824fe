/**
 * The one formatter of validation failures (zod issues, or any error) into
 * a short message naming where and what.
 *
 * @module
 */

/** One validation issue, as zod reports it. */
export interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * `path.to.field: message` for the first issue of a zod error (or the
 * error's message otherwise).
 *
 * @param err a `ZodError`, any `Error`, or anything thrown
 * @param what the name of the whole document, when the issue is at its root
 * @returns the message
 * @example
 * ```ts
 * describeProblem({ issues: [{ path: ["rules", 0, "effect"], message: "Invalid option" }] }); // "rules.0.effect: Invalid option"
 * ```
 */
export function describeProblem(err: unknown, what = "document"): string {
  const issues = (err as { issues?: Issue[] } | null)?.issues;
  if (Array.isArray(issues) && issues[0]) {
    return `${issues[0].path.map(String).join(".") || what}: ${issues[0].message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
