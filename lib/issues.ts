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

/** One issue as the API reports it: the path as strings, zod's code, the message. */
export interface IssueRecord {
  path: string[];
  code?: string;
  message: string;
}

/**
 * The first `max` issues of a zod error as plain records (empty for an
 * error without issues).
 *
 * @param err a `ZodError`, or anything thrown
 * @param max how many issues to keep
 * @returns the issues
 * @example
 * ```ts
 * issueList({ issues: [{ path: ["limits", "cpuMs"], code: "too_big", message: "Too big" }] });
 * // [{ path: ["limits", "cpuMs"], code: "too_big", message: "Too big" }]
 * ```
 */
export function issueList(err: unknown, max = 20): IssueRecord[] {
  const issues = (err as { issues?: (Issue & { code?: string })[] } | null)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.slice(0, max).map((i) => ({
    path: i.path.map(String),
    ...(i.code === undefined ? {} : { code: i.code }),
    message: i.message,
  }));
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
  const [first] = issueList(err, 1);
  if (first) return `${first.path.join(".") || what}: ${first.message}`;
  return err instanceof Error ? err.message : String(err);
}
