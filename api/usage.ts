/**
 * `GET /v1/tenants/:id/usage`: what a tenant used in the current period —
 * the UTC day so far. Live agents now; spawns (agents created today); CPU
 * ms and syscalls of agents that ended today (their whole run) plus the
 * live agents' so far; disk bytes now (its volumes and its live agents'
 * workspaces); egress bytes (request and response bodies of `net.fetch`)
 * counted by this server process today — since its start if it started
 * today (`egressSince` says which).
 *
 * @module
 */

import type { LiveAgent } from "./agent_table.ts";
import type { Store } from "./store.ts";

/** Tenants whose egress is counted; past it the counters start over (and `egressSince` says when). */
export const usageTenantsTrackedMax = 65_536;

/** A tenant's usage in the current period. */
export interface TenantUsage {
  tenantId: string;
  /** The period: the current UTC day, from its start to now. */
  period: { start: string; end: string };
  liveAgents: number;
  spawns: number;
  cpuMs: number;
  syscalls: number;
  diskBytes: number;
  egressBytes: number;
  /** Since when `egressBytes` is counted (the period's start, or this server's start if later). */
  egressSince: string;
}

/** The start of the UTC day of `ms`, ISO 8601. */
export function periodStart(ms: number): string {
  const d = new Date(ms);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString();
}

/**
 * The egress counters of this server process, per tenant and UTC day.
 *
 * @example
 * ```ts
 * const meter = new EgressMeter();
 * meter.add("tn_1", 512);
 * meter.bytes("tn_1"); // 512
 * ```
 */
export class EgressMeter {
  #day = periodStart(Date.now());
  #since = new Date().toISOString();
  #bytes = new Map<string, number>();

  /** Count `bytes` of egress for `tenant` (a new UTC day starts the counters over). */
  add(tenant: string, bytes: number): void {
    this.#roll();
    if (!this.#bytes.has(tenant) && this.#bytes.size >= usageTenantsTrackedMax) {
      this.#bytes.clear();
      this.#since = new Date().toISOString();
    }
    this.#bytes.set(tenant, (this.#bytes.get(tenant) ?? 0) + bytes);
  }

  /** A tenant's egress bytes today. */
  bytes(tenant: string): number {
    this.#roll();
    return this.#bytes.get(tenant) ?? 0;
  }

  /** Since when the counters count. */
  get since(): string {
    this.#roll();
    return this.#since;
  }

  #roll(): void {
    const day = periodStart(Date.now());
    if (day === this.#day) return;
    this.#day = day;
    this.#since = day;
    this.#bytes.clear();
  }
}

/**
 * A tenant's usage now.
 *
 * @param d the store (records of the period), the tenant's live agents, its volumes' bytes and the egress meter
 * @param tenantId the tenant
 * @returns its usage in the current UTC day
 * @example
 * ```ts
 * tenantUsage({ store, live, volumeBytes: 0, egress }, "tn_1").cpuMs;
 * ```
 */
export function tenantUsage(
  d: { store: Store; live: LiveAgent[]; volumeBytes: number; egress: EgressMeter },
  tenantId: string,
): TenantUsage {
  const nowMs = Date.now();
  const start = periodStart(nowMs);
  const ended = d.store.agentUsageSince(tenantId, start);
  let cpuMs = ended.cpuMs, syscalls = ended.syscalls, diskBytes = d.volumeBytes;
  for (const live of d.live) {
    const usage = live.agent.usage;
    cpuMs += usage.cpuMs;
    syscalls += usage.syscalls;
    diskBytes += usage.diskBytes;
  }
  const since = d.egress.since > start ? d.egress.since : start;
  return {
    tenantId,
    period: { start, end: new Date(nowMs).toISOString() },
    liveAgents: d.live.length,
    spawns: ended.spawns,
    cpuMs: Math.round(cpuMs),
    syscalls,
    diskBytes,
    egressBytes: d.egress.bytes(tenantId),
    egressSince: since,
  };
}
