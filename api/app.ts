/**
 * The Hono app: routes parse and validate (zod), authenticate, call the
 * service, and format. Every error is `{error:{code, message, issues?}}` with
 * a 4xx status for bad input; nothing a client sends can produce a 500.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import type { z } from "zod";
import { JsonDepthError, parseJsonNullProto } from "../kernel/syscall/frame.ts";
import { httpSpan } from "../observability/otel.ts";
import { peerHeader, type RateDecision, RateLimiter, StreamSlots } from "./edge/mod.ts";
import type { EventFilter } from "./events.ts";
import { bodyBytesMax, bodyTokenBytes, type EdgeLimits, edgeLimits, rateBucketsMax } from "./limits.ts";
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

export { bodyBytesMax, sseHeartbeatMs } from "./limits.ts";

/** A request's rate bucket, for charges after the fact. */
interface RateCharge {
  /** Charge the bucket `tokens` more. */
  charge(tokens: number): void;
  /** Body tokens already taken from the declared `Content-Length`. */
  bodyTokens: number;
  /** Extra tokens of a rejected body. */
  rejectedBodyTokens: number;
}

type Env = { Variables: { principal: Principal; rate: RateCharge } };

/** What the app needs from its host. */
export interface AppDeps {
  service: Service;
  ready: () => boolean;
  metrics: (p: Principal) => string;
  /** Rate and stream limits (default `edgeLimits()`). */
  limits?: EdgeLimits;
}

/** The app and the edge state it keeps (for metrics). */
export interface AppEdge {
  keyRates: RateLimiter;
  addressRates: RateLimiter;
  streams: StreamSlots;
}

/** Build the app. */
export function createApp(deps: AppDeps): Hono<Env> & { edge: AppEdge } {
  const { service } = deps;
  const limits = deps.limits ?? edgeLimits();
  const app = new Hono<Env>() as Hono<Env> & { edge: AppEdge };
  const edge: AppEdge = {
    keyRates: new RateLimiter({
      ratePerSec: limits.requestsPerSecPerKey,
      burst: limits.requestBurstPerKey,
      bucketsMax: rateBucketsMax,
    }),
    addressRates: new RateLimiter({
      ratePerSec: limits.requestsPerSecPerAddress,
      burst: limits.requestBurstPerAddress,
      bucketsMax: rateBucketsMax,
    }),
    streams: new StreamSlots(limits),
  };
  app.edge = edge;

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

  // Order matters: who is calling, then their rate, then (only then) the body.
  const guard = authenticateAndRate(service, limits, edge);
  app.use("/v1/*", guard);
  app.use("/metrics", guard);
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: bodyBytesMax,
      onError: (c) => {
        const rate = c.get("rate");
        rate.charge(rate.rejectedBodyTokens);
        return c.json({ error: { code: "payload_too_large", message: `body over ${bodyBytesMax} bytes` } }, 413);
      },
    }),
  );

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
    const p = c.get("principal");
    const slot = edge.streams.acquire(p.tenant.id, p.keyHash);
    if (typeof slot !== "function") {
      throw new ApiError(429, "too_many_streams", `over ${slot.cap} (${slot.max} open streams)`, { retryAfterSec: 1 });
    }
    const header = c.req.header("last-event-id");
    const after = header !== undefined && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    const sub = service.hub.subscribe(filter, after);
    const release = () => {
      sub.close();
      slot();
    };
    const heartbeatMs = limits.sseHeartbeatMs;
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => {
        abort.abort();
        release();
      });
      try {
        await stream.writeSSE({ event: "hello", data: JSON.stringify({ seq: service.hub.seq }) });
        let wroteAtMs = Date.now();
        while (!abort.signal.aborted && !sub.closed) {
          await sub.wait(Math.max(0, heartbeatMs - (Date.now() - wroteAtMs)), abort.signal);
          const { events, dropped } = sub.take();
          // One write per take, not per event: the supervisor thread also serves syscalls.
          let text = dropped > 0 ? `event: dropped\ndata: ${JSON.stringify({ count: dropped })}\n\n` : "";
          for (const e of events) text += `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
          // Nothing is written for a wake that brought nothing; keepalives come from the timer alone.
          if (text === "" && Date.now() - wroteAtMs >= heartbeatMs) text = ": keepalive\n\n";
          if (text === "") continue;
          await stream.write(text);
          wroteAtMs = Date.now();
        }
      } finally {
        release();
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
  const rate = c.get("rate");
  let text: string;
  try {
    text = await c.req.text();
  } catch (err) {
    rate.charge(rate.rejectedBodyTokens);
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "invalid_json", "body could not be read");
  }
  // A body sent without Content-Length pays for its size now.
  const unpaid = Math.floor(text.length / bodyTokenBytes) - rate.bodyTokens;
  if (unpaid > 0) rate.charge(unpaid);
  let value: unknown;
  try {
    value = parseJsonNullProto(text);
  } catch (err) {
    rate.charge(rate.rejectedBodyTokens);
    if (err instanceof JsonDepthError) {
      throw new ApiError(400, "body_too_deep", `body nested deeper than ${err.depthMax} levels`);
    }
    throw new ApiError(400, "invalid_json", "body is not valid JSON");
  }
  return validate(schema, value);
}

/**
 * Authenticate, then take from the caller's rate bucket before anything
 * reads the body: per API key hash for a known key, per client address for
 * a missing, malformed or unknown one (charged only on failure).
 */
function authenticateAndRate(service: Service, limits: EdgeLimits, edge: AppEdge): MiddlewareHandler<Env> {
  return async (c, next) => {
    let principal: Principal;
    try {
      principal = await service.authenticate(c.req.header("authorization"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        const peer = c.req.header(peerHeader) ?? "local";
        rateOrThrow(edge.addressRates.take(`a:${peer}`), "requestsPerSecPerAddress", edge.addressRates);
      }
      throw err;
    }
    const declared = Number(c.req.header("content-length") ?? 0);
    const bodyTokens = Number.isFinite(declared) && declared > 0
      ? Math.floor(Math.min(declared, bodyBytesMax + 1) / bodyTokenBytes)
      : 0;
    const bucket = `k:${principal.keyHash}`;
    rateOrThrow(edge.keyRates.take(bucket, 1 + bodyTokens), "requestsPerSecPerKey", edge.keyRates);
    c.set("principal", principal);
    c.set("rate", {
      charge: (tokens) => edge.keyRates.charge(bucket, tokens),
      bodyTokens,
      rejectedBodyTokens: limits.rejectedBodyTokens,
    });
    await next();
  };
}

function rateOrThrow(decision: RateDecision, cap: string, rates: RateLimiter): void {
  if (decision.ok) return;
  throw new ApiError(
    429,
    "rate_limited",
    `over ${cap} (${rates.ratePerSec}/s, burst ${rates.burst}); retry after ${decision.retryAfterSec} s`,
    { retryAfterSec: decision.retryAfterSec },
  );
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
  // A big body refused unread is not drained: the connection closes after the answer.
  if (!c.req.raw.bodyUsed && Number(c.req.header("content-length") ?? 0) >= bodyTokenBytes) {
    headers["connection"] = "close";
  }
  const body = { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
  return c.json(body, err.status, headers);
}
