/**
 * The Hono app: routes parse and validate (zod), authenticate, call the
 * service, and format. Every error is `{error:{code, message, issues?}}` with
 * a 4xx status for bad input; nothing a client sends can produce a 500.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import type { z } from "zod";
import { parseJsonNullProto } from "../kernel/syscall/frame.ts";
import { httpSpan } from "../observability/otel.ts";
import type { EventFilter } from "./events.ts";
import {
  agentListQuery,
  auditQuery,
  eventsQuery,
  explainSchema,
  openApiDocument,
  policyPutSchema,
  schedulerSchema,
  spawnSchema,
  tenantCreateSchema,
  tenantPatchSchema,
} from "./schemas.ts";
import { ApiError, type Principal, type Service } from "./service.ts";
import type { AgentRow } from "./store.ts";

/** Largest request body, bytes. */
export const bodyBytesMax = 2 * 1024 * 1024;
/** Heartbeat interval of SSE streams, ms. */
export const sseHeartbeatMs = 15_000;

type Env = { Variables: { principal: Principal } };

/** What the app needs from its host. */
export interface AppDeps {
  service: Service;
  ready: () => boolean;
  metrics: (p: Principal) => string;
}

/** Build the app. */
export function createApp(deps: AppDeps): Hono<Env> {
  const { service } = deps;
  const app = new Hono<Env>();

  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    console.error(`unhandled: ${err instanceof Error ? err.stack : err}`);
    return c.json({ error: { code: "internal", message: "internal error" } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: "not_found", message: "no such route" } }, 404));

  app.use("*", async (c, next) => {
    await httpSpan(c.req.method, c.req.path, async () => {
      await next();
      return c.res.status;
    });
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get(
    "/readyz",
    (c) =>
      deps.ready() && !service.shuttingDown
        ? c.json({ ready: true })
        : c.json({ error: { code: "not_ready", message: "starting or shutting down" } }, 503),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: bodyBytesMax,
      onError: (c) => c.json({ error: { code: "payload_too_large", message: `body over ${bodyBytesMax} bytes` } }, 413),
    }),
  );
  app.use("/v1/*", async (c, next) => {
    c.set("principal", await service.authenticate(c.req.header("authorization")));
    await next();
  });
  app.use("/metrics", async (c, next) => {
    c.set("principal", await service.authenticate(c.req.header("authorization")));
    await next();
  });

  app.get(
    "/metrics",
    (c) =>
      c.body(deps.metrics(c.get("principal")), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );

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
    return c.json(service.explain(c.get("principal"), body));
  });
  app.post(
    "/v1/tenants/:id/keys",
    async (c) => c.json(await service.rotateKey(c.get("principal"), c.req.param("id")), 201),
  );

  app.post("/v1/agents", async (c) => {
    const body = await parseBody(c, spawnSchema);
    const p = c.get("principal");
    const live = await service.spawn(p, body);
    if (!body.wait) return c.json({ id: live.id, state: live.agent.proc.state }, 201);
    return c.json(agentView(await service.answer(live), true), 200);
  });
  app.get("/v1/agents", (c) => {
    const q = parseQuery(c, agentListQuery);
    const page = service.agents(c.get("principal"), q);
    return c.json({ agents: page.agents.map((a) => agentView(a, false)), next: page.next });
  });
  app.get("/v1/agents/:id", (c) => c.json(agentView(service.agent(c.get("principal"), c.req.param("id")), false)));
  app.delete("/v1/agents/:id", (c) => {
    const signal = c.req.query("signal") ?? "KILL";
    if (signal !== "KILL" && signal !== "TERM") {
      throw new ApiError(400, "validation_failed", "signal must be TERM or KILL");
    }
    const row = service.kill(c.get("principal"), c.req.param("id"), signal);
    return c.json({ id: row.id, state: row.state, killed: row.endedAt === null }, 202);
  });
  app.get("/v1/agents/:id/output", (c) => {
    const row = service.agent(c.get("principal"), c.req.param("id"));
    return c.json({ id: row.id, stdout: row.stdout, stderr: row.stderr });
  });
  app.get("/v1/agents/:id/wait", async (c) => {
    return c.json(agentView(await service.wait(c.get("principal"), c.req.param("id")), true));
  });

  app.get("/v1/agents/:id/events", (c) => {
    const p = c.get("principal");
    const id = c.req.param("id");
    const tenant = service.agentTenant(p, id);
    return sse(c, { ...eventFilter(c), tenant: p.tenant.admin ? null : tenant, agentId: id });
  });
  app.get("/v1/events", (c) => {
    const p = c.get("principal");
    return sse(c, { ...eventFilter(c), tenant: p.tenant.admin ? null : p.tenant.id });
  });

  app.get("/v1/audit", (c) => {
    const q = parseQuery(c, auditQuery);
    return c.json({ records: service.auditLog(c.get("principal"), q.after ?? 0, q.limit ?? 100, q.action) });
  });

  function sse(c: Context<Env>, filter: EventFilter) {
    const header = c.req.header("last-event-id");
    const after = header !== undefined && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    const sub = service.hub.subscribe(filter, after);
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => {
        abort.abort();
        sub.close();
      });
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ seq: service.hub.seq }) });
      while (!abort.signal.aborted && !sub.closed) {
        await sub.wait(sseHeartbeatMs, abort.signal);
        const { events, dropped } = sub.take();
        // One write per take, not per event: the supervisor thread also serves syscalls.
        let text = dropped > 0 ? `event: dropped\ndata: ${JSON.stringify({ count: dropped })}\n\n` : "";
        for (const e of events) text += `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
        await stream.write(text === "" ? ": keepalive\n\n" : text);
      }
    });
  }

  return app;
}

function eventFilter(c: Context<Env>): Omit<EventFilter, "tenant"> {
  const q = parseQuery(c, eventsQuery);
  return {
    calls: q.calls?.split(",").filter((s) => s !== ""),
    errors: q.errors === "true",
    types: q.types?.split(",").filter((s) => s !== ""),
    causality: q.causality,
  };
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
    createdAt: a.createdAt,
    endedAt: a.endedAt,
  };
  if (full) Object.assign(view, { stdout: a.stdout, stderr: a.stderr });
  return view;
}

async function parseBody<S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.output<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new ApiError(400, "bad_content_type", "content-type must be application/json");
  }
  let value: unknown;
  try {
    value = parseJsonNullProto(await c.req.text());
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "invalid_json", "body is not valid JSON");
  }
  return validate(schema, value);
}

function parseQuery<S extends z.ZodType>(c: Context<Env>, schema: S): z.output<S> {
  return validate(schema, c.req.query());
}

function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({
      path: i.path.map(String),
      code: i.code,
      message: i.message,
    }));
    const first = issues[0];
    throw new ApiError(
      400,
      "validation_failed",
      first ? `${first.path.join(".") || "body"}: ${first.message}` : "invalid",
      {
        issues,
      },
    );
  }
  return parsed.data;
}

function errorResponse(c: Context, err: ApiError): Response {
  const headers: Record<string, string> = {};
  if (err.retryAfterSec !== undefined) headers["retry-after"] = String(err.retryAfterSec);
  const body = { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
  return c.json(body, err.status, headers);
}
