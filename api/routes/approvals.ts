/**
 * Approval routes: the calls of a tenant's agents that a policy `ask` rule
 * holds until a person decides (`api/approvals.ts`, `sandbox/approvals.ts`).
 *
 * @module
 */

import type { Hono } from "hono";
import { approvalDecisionSchema } from "../approvals.ts";
import { type Env, parseBody } from "../http.ts";
import type { Service } from "../service.ts";

/** Register the routes on `app`. */
export function approvalRoutes(app: Hono<Env>, service: Service): void {
  const approvals = service.approvals;
  app.get("/v1/approvals", (c) => c.json({ approvals: approvals.list(c.get("principal")) }));
  app.get("/v1/approvals/:id", (c) => c.json(approvals.get(c.get("principal"), c.req.param("id"))));
  app.post("/v1/approvals/:id", async (c) => {
    const body = await parseBody(c, approvalDecisionSchema);
    return c.json(approvals.decide(c.get("principal"), c.req.param("id"), body));
  });
}
