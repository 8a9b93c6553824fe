/**
 * The server's Prometheus metrics: the event kinds' own series (fed by the
 * observability hub) and gauges read at collect time. Labels are
 * bounded: syscall names come from the syscall table (unknown names collapse
 * to `unknown`), errnos and reasons are closed sets, and the only open label
 * is `tenant`, bounded by the registry's per-metric series cap.
 *
 * @module
 */

import { procStates } from "../kernel/process/mod.ts";
import { Registry } from "../observability/mod.ts";
import type { Runtime } from "../sandbox/mod.ts";
import type { Service } from "./service.ts";

/** Build the registry and wire it to the runtime (its hub must be enabled for the event series to count). */
export function serverMetrics(runtime: Runtime, service: () => Service | undefined, knownCalls: Set<string>): Registry {
  const r = new Registry();
  // Event series (syscalls, latency, denials, exits, spawn time, output): each event kind declares its own
  // (observability/event_kinds.ts) and the hub counts every event into them, sampled out of the ring or not.
  runtime.obs.meter(r, { callLabel: (call) => knownCalls.has(call) ? call : "unknown" });
  const catchUp = totals();
  const kernel = kernelSeries(r, runtime, catchUp);
  const api = serviceSeries(r, catchUp);
  r.onCollect(() => {
    kernel();
    const s = service();
    if (s) api(s);
  });
  return r;
}

type CatchUp = (key: string, total: number, add: (n: number) => void) => void;

/** Turn running totals read at collect time into counter increments. */
function totals(): CatchUp {
  const seen = new Map<string, number>();
  return (key, total, add) => {
    const delta = total - (seen.get(key) ?? 0);
    if (delta > 0) add(delta);
    seen.set(key, total);
  };
}

/** The kernel's series: process table, cell pool, event ring, sampler, arena, tenant budgets. */
function kernelSeries(r: Registry, runtime: Runtime, catchUp: CatchUp): () => void {
  const live = r.gauge("agentos_agents", "Agents in the process table, by state.", ["state"]);
  const cells = cellSeries(r, runtime, catchUp);
  const illegal = r.counter("agentos_illegal_transitions_total", "Lifecycle transitions refused as illegal.", []);
  const ring = ringSeries(r, runtime, catchUp);
  const arenaBytes = r.gauge("agentos_arena_bytes", "Kernel arena bytes, by state.", ["state"]);
  const inflight = r.gauge(
    "agentos_inflight_bytes",
    "Bytes of syscall requests and results the supervisor holds for agents.",
    [],
  );
  const refused = r.counter(
    "agentos_quota_refusals_total",
    "Spawns and calls refused by a tenant quota or budget, by quota.",
    ["quota"],
  );
  return () => {
    const counts = new Map<string, number>(procStates.map((s) => [s, 0]));
    for (const proc of runtime.table.list()) counts.set(proc.state, (counts.get(proc.state) ?? 0) + 1);
    for (const [state, n] of counts) live.set({ state }, n);
    cells();
    catchUp("illegal", runtime.table.illegalTransitions, (n) => illegal.inc(undefined, n));
    ring();
    const arena = runtime.arena.stats();
    arenaBytes.set({ state: "used" }, arena.usedBytes);
    arenaBytes.set({ state: "free" }, arena.freeBytes);
    const tenants = runtime.tenants.stats();
    inflight.set(tenants.inflightBytes);
    for (const [quota, n] of Object.entries(tenants.refused)) {
      catchUp(`quota:${quota}`, n, (d) => refused.inc({ quota }, d));
    }
  };
}

/** The cell pool, the start gate, and the directories removed at start. */
function cellSeries(r: Registry, runtime: Runtime, catchUp: CatchUp): () => void {
  const pool = r.gauge("agentos_cell_pool_cells", "Warm cells ready in the pool.", []);
  const starts = r.counter(
    "agentos_cell_starts_total",
    "Cells handed out or refused, by kind (warm pool hit, recycled cell of the tenant, cold start, failed start, " +
      "warm cell failed its ping, spawn refused as cells_busy).",
    ["kind"],
  );
  const waiting = r.gauge("agentos_cell_starts_waiting", "Spawns waiting for a cell start slot.", []);
  const recycled = r.gauge("agentos_cell_recycled_cells", "Cells kept for their tenant's next agent.", []);
  const refused = r.counter(
    "agentos_cell_recycle_refused_total",
    "Cells not kept for their tenant's next agent, by reason (ended: killed, limit, timeout or crash; busy: the " +
      "old Worker still ran; rss, reuses, age, heap, full, closed).",
    ["reason"],
  );
  const stale = r.counter(
    "agentos_stale_dirs_removed_total",
    "Directories an earlier server left behind, removed at start, by kind (cells, workspaces).",
    ["kind"],
  );
  for (const kind of ["cells", "workspaces"]) stale.inc({ kind }, 0);
  return () => {
    const stats = runtime.pool.stats();
    pool.set(stats.warm);
    waiting.set(stats.waiting);
    catchUp("warm", stats.warmHits, (n) => starts.inc({ kind: "warm_hit" }, n));
    catchUp("cold", stats.coldStarts, (n) => starts.inc({ kind: "cold" }, n));
    catchUp("failed", stats.startFailures, (n) => starts.inc({ kind: "failed" }, n));
    catchUp("pingFailed", stats.pingFailures, (n) => starts.inc({ kind: "ping_failed" }, n));
    catchUp("refused", stats.startsRefused, (n) => starts.inc({ kind: "refused" }, n));
    catchUp("recycledHit", stats.recycledHits, (n) => starts.inc({ kind: "recycled_hit" }, n));
    recycled.set(stats.recycled);
    for (const [reason, n] of Object.entries(stats.recycleRefused)) {
      catchUp(`recycleRefused:${reason}`, n ?? 0, (d) => refused.inc({ reason }, d));
    }
    const removed = runtime.stats().staleDirsRemoved;
    catchUp("staleCells", removed.cells, (n) => stale.inc({ kind: "cells" }, n));
    catchUp("staleWorkspaces", removed.workspaces, (n) => stale.inc({ kind: "workspaces" }, n));
  };
}

/** The event ring and the sampler. */
function ringSeries(r: Registry, runtime: Runtime, catchUp: CatchUp): () => void {
  const ringEvents = r.counter("agentos_ring_events_total", "Events written to the kernel event ring.", []);
  const ringOverwritten = r.counter(
    "agentos_ring_events_overwritten_total",
    "Ring events overwritten before every reader saw them (slow readers lose these).",
    [],
  );
  const sampledOut = r.counter("agentos_events_sampled_out_total", "Syscall events dropped by adaptive sampling.", []);
  const anomalies = r.counter("agentos_anomalies_total", "Anomaly events raised by the streaming detectors.", []);
  const ringOccupancy = r.gauge("agentos_ring_occupancy_ratio", "Fraction of the event ring's slots in use.", []);
  const sampleRate = r.gauge("agentos_sampling_rate_ratio", "Current keep-rate of each event category.", ["category"]);
  const overhead = r.gauge(
    "agentos_observability_overhead_ratio",
    "Last measured share of supervisor CPU spent in observability.",
    [],
  );
  return () => {
    const obs = runtime.obs;
    catchUp("ring", obs.ring.emitted, (n) => ringEvents.inc(undefined, n));
    catchUp("overwritten", obs.ring.overwritten, (n) => ringOverwritten.inc(undefined, n));
    catchUp("sampledOut", obs.sampledOut, (n) => sampledOut.inc(undefined, n));
    catchUp("anomalies", obs.anomalies, (n) => anomalies.inc(undefined, n));
    ringOccupancy.set(Math.min(obs.ring.emitted, obs.ring.slots) / obs.ring.slots);
    for (const c of obs.sampler.stats()) sampleRate.set({ category: c.category }, c.rate);
    overhead.set(obs.sampler.lastShare);
  };
}

/** The API's series: the event feed, live agents per tenant, and the store's failures. */
function serviceSeries(r: Registry, catchUp: CatchUp): (s: Service) => void {
  const tenantLive = r.gauge("agentos_tenant_agents_live", "Live agents per tenant.", ["tenant"]);
  const events = r.counter("agentos_events_published_total", "Events published to the stream hub.", []);
  const subscribers = r.gauge("agentos_event_subscribers", "Open event stream subscribers.", []);
  const store = storeSeries(r, catchUp);
  const traces = traceSeries(r, catchUp);
  const webhooks = webhookSeries(r, catchUp);
  return (s) => {
    catchUp("events", s.feed.published, (n) => events.inc(undefined, n));
    subscribers.set(s.feed.subscribers);
    for (const [tenant, n] of s.liveCounts()) tenantLive.set({ tenant }, n);
    store(s);
    traces(s);
    webhooks(s);
  };
}

/** Webhook deliveries (api/webhooks/): attempts by outcome, and the queue. */
function webhookSeries(r: Registry, catchUp: CatchUp): (s: Service) => void {
  const attempts = r.counter(
    "agentos_webhook_deliveries_total",
    "Webhook deliveries ended, by outcome (delivered, failed: refused or out of attempts, dropped: queue full or server stopping), and attempts retried (retried).",
    ["outcome"],
  );
  const pending = r.gauge("agentos_webhook_deliveries_pending", "Webhook deliveries queued or waiting to retry.", []);
  const inFlight = r.gauge("agentos_webhook_deliveries_in_flight", "Webhook POSTs in flight.", []);
  const lost = r.counter(
    "agentos_webhook_log_rows_lost_total",
    "Delivery-log rows not written (buffer full or store refused).",
    [],
  );
  return (s) => {
    const w = s.webhooks.stats();
    for (const outcome of ["delivered", "failed", "retried", "dropped"] as const) {
      catchUp(`webhook:${outcome}`, w[outcome], (n) => attempts.inc({ outcome }, n));
    }
    pending.set(w.pending);
    inFlight.set(w.inFlight);
    catchUp("webhook:logLost", w.logRowsLost, (n) => lost.inc(undefined, n));
  };
}

/** Agents' stored traces (api/traces.ts): events stored, dropped by reason, waiting. */
function traceSeries(r: Registry, catchUp: CatchUp): (s: Service) => void {
  const stored = r.counter("agentos_trace_events_stored_total", "Agent events written to their stored traces.", []);
  const dropped = r.counter(
    "agentos_trace_events_dropped_total",
    "Agent events not stored: over the agent's bound (limit), the buffer full while the store refused (storage), or overwritten in the ring before the writer read them (ring).",
    ["reason"],
  );
  const buffered = r.gauge("agentos_trace_events_buffered", "Agent events waiting to be written.", []);
  return (s) => {
    const t = s.traces.stats;
    catchUp("traceStored", t.stored, (n) => stored.inc(undefined, n));
    catchUp("traceLimit", t.droppedLimit, (n) => dropped.inc({ reason: "limit" }, n));
    catchUp("traceStorage", t.droppedStorage, (n) => dropped.inc({ reason: "storage" }, n));
    catchUp("traceRing", t.ringLost, (n) => dropped.inc({ reason: "ring" }, n));
    buffered.set(s.traces.buffered);
  };
}

/** Store failures by code, and what the service holds because of them. */
function storeSeries(r: Registry, catchUp: CatchUp): (s: Service) => void {
  const errors = r.counter("agentos_store_errors_total", "Store operations SQLite refused, by API code.", ["code"]);
  const buffered = r.gauge("agentos_audit_rows_buffered", "Audit rows waiting for the next flush.", []);
  const dropped = r.counter(
    "agentos_audit_rows_dropped_total",
    "Buffered audit rows dropped unwritten (buffer full while the store refused them).",
    [],
  );
  const pending = r.gauge("agentos_agent_records_pending", "Final agent records the store refused, retried.", []);
  const lost = r.counter("agentos_agent_records_lost_total", "Final agent records dropped unwritten.", []);
  return (s) => {
    const stats = s.storeStats();
    for (const [code, n] of stats.errors) catchUp(`store:${code}`, n, (d) => errors.inc({ code }, d));
    buffered.set(stats.auditBuffered);
    catchUp("auditDropped", stats.auditDropped, (n) => dropped.inc(undefined, n));
    pending.set(stats.recordsPending);
    catchUp("recordsLost", stats.recordsLost, (n) => lost.inc(undefined, n));
  };
}
