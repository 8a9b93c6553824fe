/**
 * Prometheus series of the HTTP edge (admin only: no `tenant` label): open
 * connections, refusals by reason, deadlines hit, descriptor episodes and
 * the learned cap, rate-limited requests, SSE streams. Read from the
 * gate's, buckets' and slots' counters at scrape time.
 *
 * @module
 */

import type { Registry } from "../../observability/mod.ts";
import type { ConnectionGate } from "./gate.ts";
import type { InnerServer } from "./inner.ts";
import type { RateLimiter } from "./rate.ts";
import type { StreamSlots } from "./streams.ts";

/** What the edge metrics read. */
export interface EdgeSources {
  gate: ConnectionGate;
  inner: InnerServer;
  keyRates: RateLimiter;
  addressRates: RateLimiter;
  streams: StreamSlots;
  /** The configured total cap (reported when no cap was learned). */
  connectionsMax: number;
}

/**
 * Register the edge's series on `r`.
 *
 * @param r the server's registry
 * @param e the counters to read at collect time
 */
export function edgeMetrics(r: Registry, e: EdgeSources): void {
  const open = r.gauge("agentos_http_connections", "Open client connections.", []);
  const cap = r.gauge(
    "agentos_http_connections_cap",
    "Connections admitted at most (connectionsMax, or the cap learned from descriptor exhaustion).",
    [],
  );
  const accepted = r.counter(
    "agentos_http_connections_accepted_total",
    "Connections accepted (then admitted or refused).",
    [],
  );
  const refused = r.counter("agentos_http_connections_refused_total", "Connections refused, by reason.", ["reason"]);
  const timedOut = r.counter("agentos_http_deadlines_total", "Connections closed at a deadline, by phase.", ["phase"]);
  const shed = r.counter(
    "agentos_http_connections_shed_total",
    "Connections that never completed a request, closed when descriptors ran out.",
    [],
  );
  const acceptErrors = r.counter("agentos_http_accept_errors_total", "Failed accept() calls.", []);
  const episodes = r.counter("agentos_http_fd_episodes_total", "Episodes of descriptor exhaustion.", []);
  const restarts = r.counter("agentos_http_inner_restarts_total", "Restarts of the internal HTTP server.", []);
  const limited = r.counter("agentos_http_rate_limited_total", "Requests refused 429 by a rate bucket, by bucket.", [
    "bucket",
  ]);
  const streams = r.gauge("agentos_sse_streams", "Open SSE streams.", []);
  const streamsRefused = r.counter("agentos_sse_streams_refused_total", "SSE streams refused at a cap.", []);
  const seen = new Map<string, number>();
  const catchUp = (key: string, total: number, add: (n: number) => void) => {
    const delta = total - (seen.get(key) ?? 0);
    if (delta > 0) add(delta);
    seen.set(key, total);
  };
  for (const reason of ["connections", "address", "fds", "inner", "bad"]) refused.inc({ reason }, 0);
  for (const phase of ["headers", "body", "idle"]) timedOut.inc({ phase }, 0);
  for (const bucket of ["key", "address"]) limited.inc({ bucket }, 0);
  r.onCollect(() => {
    const s = e.gate.stats;
    open.set(s.open);
    cap.set(Math.min(s.fdCap, e.connectionsMax));
    catchUp("accepted", s.accepted, (n) => accepted.inc(undefined, n));
    for (const [reason, total] of Object.entries(s.refused)) {
      catchUp(`refused:${reason}`, total, (n) => refused.inc({ reason }, n));
    }
    for (const [phase, total] of Object.entries(s.timedOut)) {
      catchUp(`timedOut:${phase}`, total, (n) => timedOut.inc({ phase }, n));
    }
    catchUp("shed", s.shed, (n) => shed.inc(undefined, n));
    catchUp("acceptErrors", s.acceptErrors, (n) => acceptErrors.inc(undefined, n));
    catchUp("episodes", s.fdEpisodes, (n) => episodes.inc(undefined, n));
    catchUp("restarts", e.inner.restarts, (n) => restarts.inc(undefined, n));
    catchUp("key", e.keyRates.refused, (n) => limited.inc({ bucket: "key" }, n));
    catchUp("address", e.addressRates.refused, (n) => limited.inc({ bucket: "address" }, n));
    streams.set(e.streams.open);
    catchUp("streamsRefused", e.streams.refused, (n) => streamsRefused.inc(undefined, n));
  });
}
