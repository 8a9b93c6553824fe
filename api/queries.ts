/**
 * Every route's query parameters, validated before the route runs: a table
 * from route (method and Hono path) to its strict zod schema; a route not in
 * the table takes no query at all. An unknown parameter or a bad value is a
 * 400 `validation_failed` naming the parameter (and, for an unknown one, the
 * parameters the route takes). A route added without an entry refuses every
 * query parameter — a forgotten entry is a visible 400, not a silently
 * ignored filter.
 *
 * @module
 */

import { deliveriesQuery } from "./webhooks/mod.ts";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { z } from "zod";
import type { Env } from "./http.ts";
import { parseQuery } from "./http.ts";
import { agentListQuery, auditQuery, eventsQuery } from "./schemas.ts";
import { sessionListQuery } from "./session_schemas.ts";

/** `DELETE /v1/agents/:id` query. */
export const agentKillQuery = z.strictObject({ signal: z.enum(["TERM", "KILL"]).optional() });

/** `POST /v1/sessions/:id/exec` query: `stream=true` answers NDJSON. */
export const execQuery = z.strictObject({ stream: z.enum(["true", "false"]).optional() });

/** `GET <scope>/files` query: the directory to list (default `.`). */
export const filesListQuery = z.strictObject({ dir: z.string().min(1).max(1024).optional() });

/** `DELETE <scope>/files/<path>` query. */
export const filesDeleteQuery = z.strictObject({ recursive: z.enum(["true", "false"]).optional() });

/** A route that takes no query parameters. */
export const noQuery = z.strictObject({});

/** `[method, path]` → schema; a path starting with `*` matches routes ending with the rest (the files of every scope). */
const queryTable: [string, string, z.ZodObject][] = [
  ["GET", "/v1/agents", agentListQuery],
  ["DELETE", "/v1/agents/:id", agentKillQuery],
  ["GET", "/v1/agents/:id/events", eventsQuery],
  ["GET", "/v1/agents/:id/trace", eventsQuery],
  ["GET", "/v1/events", eventsQuery],
  ["GET", "/v1/audit", auditQuery],
  ["GET", "/v1/sessions", sessionListQuery],
  ["POST", "/v1/sessions/:id/exec", execQuery],
  ["GET", "*/files", filesListQuery],
  ["DELETE", "*/files/*", filesDeleteQuery],
  ["GET", "/v1/webhooks/:id/deliveries", deliveriesQuery],
];

/**
 * The query schema of a route.
 *
 * @param method the route's method (`HEAD` asks `GET`'s)
 * @param path the route's Hono path
 * @returns its schema, {@linkcode noQuery} when it takes none
 * @example
 * ```ts
 * queryOf("GET", "/v1/agents"); // agentListQuery
 * ```
 */
export function queryOf(method: string, path: string): z.ZodObject {
  const m = method === "HEAD" ? "GET" : method;
  for (const [tm, tp, schema] of queryTable) {
    if (tm !== m) continue;
    if (tp === path || (tp.startsWith("*") && path.endsWith(tp.slice(1)))) return schema;
  }
  return noQuery;
}

/**
 * Middleware: validate the query of the route this request will reach (a
 * request no route serves passes on to its 404/405).
 *
 * @example
 * ```ts
 * app.use("/v1/*", queryGuard());
 * ```
 */
export function queryGuard(): MiddlewareHandler<Env> {
  return async (c, next) => {
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    const route = matchedRoutes(c).find((r) => r.method === method);
    if (route !== undefined) parseQuery(c, queryOf(method, route.path));
    await next();
  };
}
