/**
 * The event streams (SSE): one agent's, or all of a tenant's (an admin's:
 * everyone's). Streams are capped per server, tenant and key; nothing is
 * written on a wake that brings nothing; keepalives come from a timer.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { EventFilter } from "../events.ts";
import { type AppEdge, type Env, parseQuery } from "../http.ts";
import type { EdgeLimits } from "../limits.ts";
import { eventsQuery } from "../schemas.ts";
import { ApiError, type Service } from "../service.ts";

/** Register the routes on `app`. */
export function eventRoutes(app: Hono<Env>, service: Service, edge: AppEdge, limits: EdgeLimits): void {
  app.get("/v1/agents/:id/events", (c) => {
    const p = c.get("principal");
    const id = c.req.param("id");
    const tenant = service.agentTenant(p, id);
    return sse(c, service, edge, limits, { ...eventFilter(c), tenant: p.tenant.admin ? null : tenant, agentId: id });
  });
  app.get("/v1/events", (c) => {
    const p = c.get("principal");
    return sse(c, service, edge, limits, { ...eventFilter(c), tenant: p.tenant.admin ? null : p.tenant.id });
  });
}

function sse(c: Context<Env>, service: Service, edge: AppEdge, limits: EdgeLimits, filter: EventFilter) {
  const p = c.get("principal");
  const slot = edge.streams.acquire(p.tenant.id, p.keyHash);
  if (typeof slot !== "function") {
    throw new ApiError(429, "too_many_streams", `over ${slot.cap} (${slot.max} open streams)`, { retryAfterSec: 1 });
  }
  const header = c.req.header("last-event-id");
  const after = header !== undefined && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
  const sub = service.feed.subscribe(filter, after);
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
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ seq: service.feed.seq }) });
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

function eventFilter(c: Context<Env>): Omit<EventFilter, "tenant"> {
  const q = parseQuery(c, eventsQuery);
  return {
    calls: q.calls?.split(",").filter((s) => s !== ""),
    errors: q.errors === "true",
    types: q.types?.split(",").filter((s) => s !== ""),
    causality: q.causality,
  };
}
