/**
 * Webhook routes: register, list, get, delete, rotate the secret, and read
 * the delivery log (`api/webhooks/`).
 *
 * @module
 */

import type { Hono } from "hono";
import { type Env, parseBody, parseQuery } from "../http.ts";
import type { Service } from "../service.ts";
import { deliveriesQuery, webhookCreateSchema } from "../webhooks/mod.ts";

/** Register the routes on `app`. */
export function webhookRoutes(app: Hono<Env>, service: Service): void {
  const hooks = service.webhooks;
  app.post("/v1/webhooks", async (c) => {
    const body = await parseBody(c, webhookCreateSchema);
    return c.json(hooks.create(c.get("principal"), body), 201);
  });
  app.get("/v1/webhooks", (c) => c.json({ webhooks: hooks.list(c.get("principal")) }));
  app.get("/v1/webhooks/:id", (c) => c.json(hooks.get(c.get("principal"), c.req.param("id"))));
  app.delete("/v1/webhooks/:id", (c) => {
    const id = c.req.param("id");
    hooks.delete(c.get("principal"), id);
    return c.json({ id, deleted: true });
  });
  app.post("/v1/webhooks/:id/secret", (c) => c.json(hooks.rotateSecret(c.get("principal"), c.req.param("id"))));
  app.get("/v1/webhooks/:id/deliveries", (c) => {
    const q = parseQuery(c, deliveriesQuery);
    return c.json(hooks.deliveries(c.get("principal"), c.req.param("id"), q));
  });
}
