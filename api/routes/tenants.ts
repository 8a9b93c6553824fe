/**
 * Admin and tenant routes: tenants and keys, policies (tenant and agent),
 * the scheduler, policy explanations, the audit log.
 *
 * @module
 */

import type { Hono } from "hono";
import { type Env, hasBody, parseBody, parseQuery } from "../http.ts";
import {
  auditQuery,
  explainSchema,
  keyCreateSchema,
  policyPutSchema,
  schedulerSchema,
  tenantCreateSchema,
  tenantPatchSchema,
} from "../schemas.ts";
import type { Service } from "../service.ts";

/** Register the routes on `app`. */
export function tenantRoutes(app: Hono<Env>, service: Service): void {
  app.post("/v1/tenants", async (c) => {
    const body = await parseBody(c, tenantCreateSchema);
    return c.json(await service.createTenant(c.get("principal"), body.name, body.quotas), 201);
  });
  app.get("/v1/tenants", (c) => c.json({ tenants: service.listTenants(c.get("principal")) }));
  app.patch("/v1/tenants/:id", async (c) => {
    const body = await parseBody(c, tenantPatchSchema);
    return c.json(service.patchTenant(c.get("principal"), c.req.param("id"), body.quotas));
  });
  app.put("/v1/tenants/:id/policy", async (c) => {
    const body = await parseBody(c, policyPutSchema);
    return c.json(service.setTenantPolicy(c.get("principal"), c.req.param("id"), body));
  });
  app.put("/v1/agents/:id/policy", async (c) => {
    const body = await parseBody(c, policyPutSchema);
    return c.json(service.setAgentPolicy(c.get("principal"), c.req.param("id"), body));
  });
  app.get("/v1/scheduler", (c) => c.json(service.scheduler(c.get("principal"))));
  app.put("/v1/scheduler", async (c) => {
    const body = await parseBody(c, schedulerSchema);
    return c.json(service.setScheduler(c.get("principal"), body.policy));
  });
  app.post("/v1/policy/explain", async (c) => {
    const body = await parseBody(c, explainSchema);
    return c.json(await service.explain(c.get("principal"), body));
  });
  app.post("/v1/tenants/:id/keys", async (c) => {
    const body = hasBody(c) ? await parseBody(c, keyCreateSchema) : {};
    return c.json(await service.keys.create(c.get("principal"), c.req.param("id"), body), 201);
  });
  app.get("/v1/tenants/:id/usage", (c) => c.json(service.usage(c.get("principal"), c.req.param("id"))));
  app.get("/v1/tenants/:id/keys", (c) => c.json({ keys: service.keys.list(c.get("principal"), c.req.param("id")) }));
  app.delete("/v1/tenants/:id/keys/:keyId", (c) => {
    const key = service.keys.revoke(c.get("principal"), c.req.param("id"), c.req.param("keyId"));
    return c.json({ revoked: true, key });
  });

  app.get("/v1/audit", (c) => {
    const q = parseQuery(c, auditQuery);
    return c.json({ records: service.auditLog(c.get("principal"), q.after ?? 0, q.limit ?? 100, q.action) });
  });
}
