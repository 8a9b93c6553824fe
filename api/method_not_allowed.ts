/**
 * The answer to a known path asked with a method it does not serve: 405
 * `method_not_allowed` with an `Allow` header computed from the app's own
 * routes (never a hand-kept list), so a route added is a method allowed.
 *
 * @module
 */

/** A registered route as Hono lists it (`app.routes`). */
export interface RouteEntry {
  method: string;
  path: string;
}

/**
 * Compile a Hono route pattern (`/v1/agents/:id`, `/v1/packages/:scope{@[^/]+}/:name`, `/v1/volumes/:name/files/*`)
 * into a regular expression over a request path.
 *
 * @param pattern the route's path
 * @returns the expression matching exactly the paths the route serves
 * @example
 * ```ts
 * routePattern("/v1/agents/:id").test("/v1/agents/a1"); // true
 * ```
 */
export function routePattern(pattern: string): RegExp {
  const parts = segments(pattern);
  let source = "";
  for (const [i, part] of parts.entries()) {
    if (part === "*" && i === parts.length - 1) {
      source += "(?:/.*)?";
      continue;
    }
    source += "/" + segment(part);
  }
  return new RegExp(`^${source}/?$`);
}

/** Split on `/` outside a parameter's `{regex}` (which may hold a `/` itself). */
function segments(pattern: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of pattern.slice(1)) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (ch === "/" && depth === 0) {
      parts.push(current);
      current = "";
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

function segment(part: string): string {
  if (part === "*") return "[^/]*";
  if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const open = part.indexOf("{");
  if (open >= 0 && part.endsWith("}")) return `(?:${part.slice(open + 1, -1)})`;
  return "[^/]+";
}

/**
 * The methods each path is served with, from the app's routes (middleware, registered as `ALL`, is no method).
 * `HEAD` is allowed wherever `GET` is (Hono answers it from the `GET` handler).
 *
 * @param routes the app's routes, read at the first call (after every route is registered)
 * @returns a function from a request path to its methods, sorted; empty for an unknown path
 * @example
 * ```ts
 * const allowed = allowedMethods(() => app.routes);
 * allowed("/v1/agents"); // ["GET", "HEAD", "POST"]
 * ```
 */
export function allowedMethods(routes: () => readonly RouteEntry[]): (path: string) => string[] {
  let compiled: { method: string; pattern: RegExp }[] | undefined;
  return (path) => {
    compiled ??= routes()
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method.toUpperCase(), pattern: routePattern(r.path) }));
    const methods = new Set<string>();
    for (const r of compiled) {
      if (!r.pattern.test(path)) continue;
      methods.add(r.method);
      if (r.method === "GET") methods.add("HEAD");
    }
    return [...methods].sort();
  };
}
