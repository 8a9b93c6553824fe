/**
 * Labels of agents and sessions: `{key: value}` set at creation (and by a
 * `PATCH`), shown in their views, and the `?label=k=v` filters of their
 * lists (repeatable, every one must match; `?label=k` matches any value of
 * `k`) — one schema, one filter parser and one SQL clause for both.
 *
 * @module
 */

import type { Context } from "hono";
import { z } from "zod";
import { ApiError } from "./api_error.ts";
import { sessionLabelsMax } from "./limits.ts";

/** Most labels on one agent or session, and most `label` filters of one list. */
export const labelsMax = sessionLabelsMax;

/** Longest `label` filter (`key=value`), characters. */
export const labelFilterCharsMax = 330;

/** A labels object: keys of letters, digits and `_ . - / :` (1–64), values up to 256 characters. */
export const labelsSchema = z.record(
  z.string().min(1).max(64).regex(/^[\w.\-/:]+$/, "letters, digits, _ . - / :"),
  z.string().max(256),
)
  .refine((l) => Object.keys(l).length <= labelsMax, `at most ${labelsMax} labels`);

/** A list's `label` query parameter (its first value; {@linkcode labelFilters} checks them all). */
export const labelQuery = z.string().min(1).max(labelFilterCharsMax);

/** One filter: a key and the value it must have (null: any). */
export type LabelFilter = [string, string | null];

/**
 * Every `label` filter of a request, parsed.
 *
 * @param c the request
 * @returns the filters, in order
 * @throws {ApiError} 400 `validation_failed` past `labelsMax` filters or `labelFilterCharsMax` characters
 * @example
 * ```ts
 * labelFilters(c); // ?label=team=data&label=gpu → [["team", "data"], ["gpu", null]]
 * ```
 */
export function labelFilters(c: Context): LabelFilter[] {
  const values = c.req.queries("label") ?? [];
  if (values.length > labelsMax || values.some((l) => l.length === 0 || l.length > labelFilterCharsMax)) {
    throw new ApiError(
      400,
      "validation_failed",
      `query parameter label: at most ${labelsMax} filters of 1–${labelFilterCharsMax} characters`,
    );
  }
  return values.map((l): LabelFilter => {
    const eq = l.indexOf("=");
    return eq < 0 ? [l, null] : [l.slice(0, eq), l.slice(eq + 1)];
  });
}

/**
 * The SQL conditions of label filters over a JSON `labels` column.
 *
 * @param filters the filters
 * @returns `" AND …"` clauses and their parameters, in order
 * @example
 * ```ts
 * const { sql, params } = labelSql([["team", "data"]]); // " AND json_extract(labels, ?) = ?"
 * ```
 */
export function labelSql(filters: LabelFilter[]): { sql: string; params: string[] } {
  let sql = "";
  const params: string[] = [];
  for (const [key, value] of filters) {
    params.push(`$.${JSON.stringify(key)}`);
    if (value === null) sql += " AND json_type(labels, ?) IS NOT NULL";
    else sql += " AND json_extract(labels, ?) = ?", params.push(value);
  }
  return { sql, params };
}
