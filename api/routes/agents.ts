/**
 * Agent routes: spawn (and run to completion), list, status, kill/signal,
 * output, wait.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { AgentAnswer } from "../service.ts";
import { type Env, errorResponse, parseBody, parseQuery } from "../http.ts";
import { agentListQuery, agentPatchSchema, spawnSchema } from "../schemas.ts";
import { agentKillQuery } from "../queries.ts";
import { labelFilters } from "../labels.ts";
import type { Service } from "../service.ts";
import type { AgentRow } from "../store.ts";

/** Register the routes on `app`. */
export function agentRoutes(app: Hono<Env>, service: Service): void {
  app.post("/v1/agents", async (c) => {
    const body = await parseBody(c, spawnSchema);
    const p = c.get("principal");
    const live = await service.spawn(p, body);
    if (!body.wait) return c.json({ id: live.id, state: live.agent.proc.state }, 201);
    return endAnswer(c, await service.answer(live));
  });
  app.get("/v1/agents", (c) => {
    const q = parseQuery(c, agentListQuery);
    const page = service.agents(c.get("principal"), { ...q, labels: labelFilters(c) });
    return c.json({ agents: page.agents.map((a) => agentView(a, false)), next: page.next });
  });
  app.patch("/v1/agents/:id", async (c) => {
    const body = await parseBody(c, agentPatchSchema);
    return c.json(agentView(service.patchAgent(c.get("principal"), c.req.param("id"), body), false));
  });
  app.get("/v1/agents/:id", (c) => c.json(agentView(service.agent(c.get("principal"), c.req.param("id")), false)));
  app.delete("/v1/agents/:id", (c) => {
    const signal = parseQuery(c, agentKillQuery).signal ?? "KILL";
    const row = service.kill(c.get("principal"), c.req.param("id"), signal);
    return c.json({ id: row.id, state: row.state, killed: row.endedAt === null }, 202);
  });
  app.get("/v1/agents/:id/output", (c) => {
    const row = service.agent(c.get("principal"), c.req.param("id"));
    return c.json({ id: row.id, stdout: row.stdout, stderr: row.stderr });
  });
  app.get("/v1/agents/:id/wait", async (c) => {
    return endAnswer(c, await service.wait(c.get("principal"), c.req.param("id")));
  });
}

/**
 * An answer that reports an agent's end: 200 with the record once it is
 * durable; otherwise the store's 503 (`storage_full`, ... with
 * `Retry-After`) carrying the agent as `agent`, marked `durable: false` —
 * the agent ran, its record is written again in the background.
 */
function endAnswer(c: Context<Env>, answer: AgentAnswer): Response {
  const view = agentView(answer.row, true);
  if (answer.notDurable) return errorResponse(c, answer.notDurable, { agent: { ...view, durable: false } });
  return c.json(view, 200);
}

/** The public shape of an agent. */
export function agentView(a: AgentRow, full: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: a.id,
    tenantId: a.tenantId,
    pid: a.pid,
    state: a.state,
    reason: a.reason,
    exitCode: a.exitCode,
    message: a.message,
    result: a.result,
    usage: a.usage,
    capabilities: a.capabilities,
    limits: a.limits,
    labels: a.labels,
    createdAt: a.createdAt,
    endedAt: a.endedAt,
  };
  if (full) Object.assign(view, { stdout: a.stdout, stderr: a.stderr });
  return view;
}
