/**
 * Volume routes: create, list, get, delete; and the files routes of
 * volumes and of agents' workspaces (`fileRoutes`, one factory for both).
 *
 * @module
 */

import type { Hono } from "hono";
import { type Env, parseBody } from "../http.ts";
import { volumeCreateSchema } from "../schemas.ts";
import type { Service } from "../service.ts";
import { fileRoutes } from "./files.ts";

/** Register the routes on `app`. */
export function volumeRoutes(app: Hono<Env>, service: Service): void {
  app.post("/v1/volumes", async (c) => {
    const body = await parseBody(c, volumeCreateSchema);
    return c.json(await service.volumes.create(c.get("principal"), body), 201);
  });
  app.get("/v1/volumes", (c) => c.json({ volumes: service.volumes.list(c.get("principal")) }));
  app.get("/v1/volumes/:name", (c) => c.json(service.volumes.get(c.get("principal"), c.req.param("name"))));
  app.delete("/v1/volumes/:name", async (c) => {
    const name = c.req.param("name");
    await service.volumes.delete(c.get("principal"), name);
    return c.json({ name, deleted: true });
  });
  fileRoutes(app, "/v1/volumes/:name", (c) => service.volumes.scope(c.get("principal"), c.req.param("name") ?? ""));
  fileRoutes(app, "/v1/agents/:id", (c) => service.agentFiles(c.get("principal"), c.req.param("id") ?? ""));
}
