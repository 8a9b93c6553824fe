/**
 * The event streams (SSE): one agent's, or all of a tenant's (an admin's:
 * everyone's). Streams are capped per server, tenant and key; nothing is
 * written on a wake that brings nothing; keepalives come from a timer.
 *
 * One agent's stream replays its stored trace (`api/traces.ts`) from its
 * first event — or after `Last-Event-ID` —, then continues live from the
 * ring, and ends after the agent's `exit` event (`?follow=false`: after
 * what is stored). The filters apply to both parts.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { SSEStreamingApi } from "hono/streaming";
import type { EventFilter, FeedSubscription } from "../events.ts";
import { type AppEdge, type Env, parseQuery } from "../http.ts";
import { type EdgeLimits, tracePageEventsMax } from "../limits.ts";
import { eventsQuery } from "../schemas.ts";
import { ApiError, type Service } from "../service.ts";
import { traceRowMatches } from "../traces.ts";

/** Register the routes on `app`. */
export function eventRoutes(app: Hono<Env>, service: Service, edge: AppEdge, limits: EdgeLimits): void {
  app.get("/v1/agents/:id/events", (c) => {
    const p = c.get("principal");
    const id = c.req.param("id");
    const tenant = service.agentTenant(p, id);
    const filter = { ...eventFilter(c), tenant: p.tenant.admin ? null : tenant, agentId: id, untilExit: true };
    return agentSse(c, service, edge, limits, filter, parseQuery(c, eventsQuery).follow !== "false");
  });
  app.get("/v1/events", (c) => {
    const p = c.get("principal");
    return sse(c, service, edge, limits, { ...eventFilter(c), tenant: p.tenant.admin ? null : p.tenant.id });
  });
}

/** A stream slot of the caller, or a 429. */
function streamSlot(c: Context<Env>, edge: AppEdge): () => void {
  const p = c.get("principal");
  const slot = edge.streams.acquire(p.tenant.id, p.keyHash);
  if (typeof slot !== "function") {
    throw new ApiError(429, "too_many_streams", `over ${slot.cap} (${slot.max} open streams)`, { retryAfterSec: 1 });
  }
  return slot;
}

/** The event id in `Last-Event-ID`, if it is one. */
function lastEventId(c: Context<Env>): number | undefined {
  const header = c.req.header("last-event-id");
  return header !== undefined && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
}

function sse(c: Context<Env>, service: Service, edge: AppEdge, limits: EdgeLimits, filter: EventFilter) {
  const slot = streamSlot(c, edge);
  const sub = service.feed.subscribe(filter, lastEventId(c));
  const release = () => {
    sub.close();
    slot();
  };
  const heartbeatMs = limits.sseHeartbeatMs;
  return openSse(c, service, release, async (stream, abort) => {
    let wroteAtMs = Date.now();
    while (!abort.aborted && !sub.closed) {
      await sub.wait(Math.max(0, heartbeatMs - (Date.now() - wroteAtMs)), abort);
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
  });
}

/**
 * An SSE answer: `hello` with the feed's seq, then `body`; `release` (which
 * must be idempotent) runs when the client goes and when the body ends.
 */
function openSse(
  c: Context<Env>,
  service: Service,
  release: () => void,
  body: (stream: SSEStreamingApi, abort: AbortSignal) => Promise<void>,
): Response {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => {
      abort.abort();
      release();
    });
    try {
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ seq: service.feed.seq }) });
      await body(stream, abort.signal);
    } finally {
      release();
    }
  });
}

/**
 * One agent's stream: its trace up to now, then (with `follow`, while the
 * agent may still have events) live until its exit event.
 */
function agentSse(
  c: Context<Env>,
  service: Service,
  edge: AppEdge,
  limits: EdgeLimits,
  filter: EventFilter,
  follow: boolean,
) {
  const slot = streamSlot(c, edge);
  const id = filter.agentId!;
  // Everything up to `bound` is in the trace; the live part reads the ring after it. No await in between.
  const bound = service.traces.catchUp();
  const sub = follow && service.agentLive(id) ? service.feed.subscribe(filter, bound) : undefined;
  const release = () => {
    sub?.close();
    slot();
  };
  return openSse(c, service, release, async (stream, abort) => {
    const replayed = await replay(stream, service, filter, lastEventId(c) ?? 0, bound);
    if (replayed.ended || sub === undefined) return;
    await live(stream, service, sub, abort, limits.sseHeartbeatMs, replayed.last);
  });
}

/** Send the agent's stored events with `after < seq <= upto`, in pages. */
async function replay(
  stream: SSEStreamingApi,
  service: Service,
  filter: EventFilter,
  after: number,
  upto: number,
): Promise<{ last: number; ended: boolean }> {
  let last = after;
  while (!stream.aborted) {
    const rows = service.traces.page(filter.agentId!, last, upto, tracePageEventsMax);
    if (rows.length === 0) break;
    let text = "";
    let ended = false;
    for (const row of rows) {
      last = row.seq;
      if (traceRowMatches(row, filter)) text += `id: ${row.seq}\nevent: ${row.kind}\ndata: ${row.json}\n\n`;
      if (row.kind !== "exit") continue;
      ended = true;
      break;
    }
    if (text !== "") await stream.write(text);
    if (ended) return { last, ended };
  }
  return { last, ended: false };
}

/**
 * The live part of one agent's stream: from the ring until the agent's exit
 * event. If the agent is gone and its exit was not seen (the reader lost it
 * to the ring), the rest comes from the trace.
 */
async function live(
  stream: SSEStreamingApi,
  service: Service,
  sub: FeedSubscription,
  signal: AbortSignal,
  heartbeatMs: number,
  after: number,
): Promise<void> {
  let last = after;
  let wroteAtMs = Date.now();
  while (!signal.aborted && !sub.closed && !sub.ended) {
    await sub.wait(Math.max(0, heartbeatMs - (Date.now() - wroteAtMs)), signal);
    const { events, dropped } = sub.take();
    let text = dropped > 0 ? `event: dropped\ndata: ${JSON.stringify({ count: dropped })}\n\n` : "";
    for (const e of events) {
      if (e.seq <= last) continue;
      last = e.seq;
      text += `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    }
    if (text === "" && !sub.ended && !sub.pending && !service.agentLive(sub.filter.agentId!)) {
      await replay(stream, service, sub.filter, last, service.traces.catchUp());
      return;
    }
    if (text === "" && Date.now() - wroteAtMs >= heartbeatMs) text = ": keepalive\n\n";
    if (text === "") continue;
    await stream.write(text);
    wroteAtMs = Date.now();
  }
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
