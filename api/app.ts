/**
 * The Hono app: middleware (tracing, authentication and rate before any
 * body, the body cap) and the route groups of `api/routes/`. Routes parse
 * and validate (zod), call the service, and format; `/mcp` is the MCP
 * server over the same service (`api/mcp/`). Every error is
 * `{error:{code, message, issues?}}` with a 4xx status for bad input and a
 * 503 for a store failure (`api/store_errors.ts`); nothing a client sends
 * can produce a 500.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { httpSpan } from "../observability/mod.ts";
import { RateLimiter, StreamSlots } from "./edge/mod.ts";
import { type AppEdge, authenticateAndRate, type Env, errorResponse, hasBody } from "./http.ts";
import { bodyBytesMax, type EdgeLimits, edgeLimits, rateBucketsMax } from "./limits.ts";
import {
  agentRoutes,
  approvalRoutes,
  eventRoutes,
  packageRoutes,
  sessionRoutes,
  tenantRoutes,
  traceRoutes,
  uploadPathPattern,
  volumeRoutes,
  webhookRoutes,
} from "./routes/mod.ts";
import { mcpRoutes } from "./mcp/mod.ts";
import { openApiDocument } from "./openapi.ts";
import { allowedMethods } from "./method_not_allowed.ts";
import { queryGuard } from "./queries.ts";
import { ApiError, type Principal, type Service } from "./service.ts";

export { bodyBytesMax, sseHeartbeatMs } from "./limits.ts";
export type { AppEdge } from "./http.ts";
export { agentView } from "./routes/mod.ts";

/** What the app needs from its host. */
export interface AppDeps {
  service: Service;
  ready: () => boolean;
  metrics: (p: Principal) => string;
  /** Rate and stream limits (default `edgeLimits()`). */
  limits?: EdgeLimits;
}

/** Build the app. */
export function createApp(deps: AppDeps): Hono<Env> & { edge: AppEdge } {
  const { service } = deps;
  const limits = deps.limits ?? edgeLimits();
  const app = new Hono<Env>() as Hono<Env> & { edge: AppEdge };
  const edge = makeEdge(limits);
  app.edge = edge;

  app.onError((err, c) => onError(service, err, c));
  const allowed = allowedMethods(() => app.routes);
  app.notFound((c) => notFound(c, allowed(c.req.path)));

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
  app.get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)));

  // Order matters: who is calling, then their rate, then (only then) the body.
  const guard = authenticateAndRate(service, limits, edge);
  app.use("/v1/*", guard);
  app.use("/metrics", guard);
  app.use("/v1/*", queryGuard());
  const jsonBodyLimit = bodyLimit({
    maxSize: bodyBytesMax,
    onError: (c) => {
      const rate = c.get("rate");
      rate.charge(rate.rejectedBodyTokens);
      return c.json({ error: { code: "payload_too_large", message: `body over ${bodyBytesMax} bytes` } }, 413);
    },
  });
  // A request with neither length nor chunks has no body (HTTP/1.1): nothing to cap (and the limiter's copy of
  // the request would make Deno warn about `request.signal`).
  // File uploads stream to disk under their own cap (`fileUploadBytesMax`, api/routes/files.ts); every other
  // request keeps the JSON body cap.
  app.use(
    "/v1/*",
    (c, next) =>
      (c.req.method === "PUT" && uploadPathPattern.test(c.req.path)) || !hasBody(c) ? next() : jsonBodyLimit(c, next),
  );

  app.get(
    "/metrics",
    (c) =>
      c.body(deps.metrics(c.get("principal")), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );

  tenantRoutes(app, service);
  agentRoutes(app, service);
  volumeRoutes(app, service);
  eventRoutes(app, service, edge, limits);
  sessionRoutes(app, service.sessions);
  traceRoutes(app, service);
  packageRoutes(app, service);
  mcpRoutes(app, service, guard);
  webhookRoutes(app, service);
  approvalRoutes(app, service);
  return app;
}

/** Every error's answer: an `ApiError` as it says, a store failure as its 503, anything else (a bug) a logged 500. */
function onError(service: Service, err: Error, c: Context<Env>): Response {
  if (err instanceof ApiError) return errorResponse(c, err);
  // A store failure (disk full, I/O error, read-only or locked database) is an operating error: a 503.
  const refused = service.storeFailure(`${c.req.method} ${c.req.path}`, err);
  if (refused !== undefined) return errorResponse(c, refused);
  console.error(`unhandled: ${err instanceof Error ? err.stack : err}`);
  return c.json({ error: { code: "internal", message: "internal error" } }, 500);
}

/** An unknown path is a 404; a known path asked with another method a 405 naming the methods it has. */
function notFound(c: Context<Env>, methods: string[]): Response {
  if (methods.length === 0) return c.json({ error: { code: "not_found", message: "no such route" } }, 404);
  const message = `${c.req.method} is not served at ${c.req.path}; use ${methods.join(", ")}`;
  return c.json({ error: { code: "method_not_allowed", message } }, 405, { allow: methods.join(", ") });
}

/** The edge's rate limiters and stream slots. */
function makeEdge(limits: EdgeLimits): AppEdge {
  return {
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
}
