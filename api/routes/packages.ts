/**
 * Admin routes of the package store: add (`POST /v1/packages {spec}`, 201
 * with the stored entry once it is in the index), list, remove
 * (`DELETE /v1/packages/:name`, a scoped name URL-encoded or as two
 * segments). Each add and removal writes an audit row after the store
 * changed (the store is files, not the database: if that row cannot be
 * written the answer is the store's 503, and the change stays).
 *
 * A {@linkcode PackageError} is answered with its code and a 4xx, or a
 * 502 when the registry failed: `invalid_spec` 400, `not_found` 404,
 * `install_script`, `native_addon` and `bundle_failed` 422, `too_large`
 * 413, `integrity` 409 (the store on disk no longer matches its index),
 * `busy` 503, `registry` 502.
 *
 * @module
 */

import type { Hono } from "hono";
import type { AuditAction } from "../audit_actions.ts";
import { PackageError, type PackageErrorCode } from "../../sandbox/packages/mod.ts";
import { ApiError } from "../api_error.ts";
import { type Env, parseBody } from "../http.ts";
import { packageAddSchema } from "../package_schemas.ts";
import type { Principal, Service } from "../service.ts";

const statuses: Record<PackageErrorCode, ApiError["status"]> = {
  invalid_spec: 400,
  not_found: 404,
  install_script: 422,
  native_addon: 422,
  bundle_failed: 422,
  too_large: 413,
  integrity: 409,
  busy: 503,
  registry: 502,
};

/**
 * Run a store operation; a `PackageError` becomes its `ApiError` (see the module doc).
 *
 * @example
 * ```ts
 * const list = await packageOr4xx(() => service.packages.list());
 * ```
 */
export async function packageOr4xx<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof PackageError)) throw err;
    const retry = err.code === "busy" ? { retryAfterSec: 5 } : {};
    throw new ApiError(statuses[err.code], err.code, err.message, retry);
  }
}

function audit(service: Service, p: Principal, action: AuditAction, subject: string, detail: unknown): void {
  service.commit(() => {}, { tenantId: p.tenant.id, actor: p.tenant.id, action, subject, detail });
}

async function remove(service: Service, p: Principal, name: string): Promise<Response> {
  service.requireAdmin(p);
  const removed = await packageOr4xx(() => service.packages.remove(name));
  if (!removed) throw new ApiError(404, "not_found", `${name} is not in the package store`);
  audit(service, p, "package.removed", name, {});
  return Response.json({ name, removed: true });
}

/** Register the routes on `app`. */
export function packageRoutes(app: Hono<Env>, service: Service): void {
  app.post("/v1/packages", async (c) => {
    const p = c.get("principal");
    service.requireAdmin(p);
    const body = await parseBody(c, packageAddSchema);
    const pkg = await packageOr4xx(() => service.packages.add(body.spec));
    audit(service, p, "package.added", `${pkg.name}@${pkg.version}`, {
      spec: body.spec,
      sha256: pkg.sha256,
      bytes: pkg.bytes,
    });
    return c.json(pkg, 201);
  });
  app.get("/v1/packages", async (c) => {
    service.requireAdmin(c.get("principal"));
    return c.json({ packages: await packageOr4xx(() => service.packages.list()) });
  });
  app.delete("/v1/packages/:name", (c) => remove(service, c.get("principal"), c.req.param("name")));
  app.delete(
    "/v1/packages/:scope{@[^/]+}/:name",
    (c) => remove(service, c.get("principal"), `${c.req.param("scope")}/${c.req.param("name")}`),
  );
}
