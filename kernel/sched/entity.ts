/**
 * The scheduler's bookkeeping records for agents (pids) and tenants, and the
 * three pick functions. Records exist while an entity has queued or running
 * jobs; idle ones are dropped (and re-placed at the minimum when they return).
 *
 * @module
 */

import { JobQueue } from "./job_queue.ts";
import type { SchedPolicy } from "./policy.ts";

/** One agent's run-queue entry. */
export interface AgentRec {
  readonly pid: number;
  readonly tenant: TenantRec;
  priority: number;
  weight: number;
  /** Weighted service received, in clock units (fair policy). */
  vruntime: number;
  /** EWMA of this agent's service time per job, charged when a job starts. */
  estimateMs: number;
  readonly jobs: JobQueue;
  inflight: number;
  /** Set by `remove(pid)`: the record no longer belongs to the tables. */
  detached: boolean;
}

/** One tenant's run-queue entry. */
export interface TenantRec {
  readonly name: string;
  /** Service received, in clock units (tenants weigh the same). */
  vruntime: number;
  /** Monotonic floor for agents (re)joining this tenant's run queue. */
  agentVruntimeMin: number;
  /** Every live agent record of this tenant. */
  readonly agents: Map<number, AgentRec>;
  /** Agents with queued jobs; iteration order is the round-robin rotation. */
  readonly active: Map<number, AgentRec>;
  queued: number;
  inflight: number;
  served: number;
}

/** Create an agent record. */
export function newAgent(pid: number, tenant: TenantRec, priority: number, weight: number): AgentRec {
  return {
    pid,
    tenant,
    priority,
    weight,
    vruntime: 0,
    estimateMs: 0,
    jobs: new JobQueue(),
    inflight: 0,
    detached: false,
  };
}

/** Create a tenant record. */
export function newTenant(name: string): TenantRec {
  return {
    name,
    vruntime: 0,
    agentVruntimeMin: 0,
    agents: new Map(),
    active: new Map(),
    queued: 0,
    inflight: 0,
    served: 0,
  };
}

/** The smallest vruntime in `records` (first in iteration order on ties), or null. */
export function minByVruntime<T extends { vruntime: number }>(records: Iterable<T>): T | null {
  let best: T | null = null;
  for (const rec of records) if (best === null || rec.vruntime < best.vruntime) best = rec;
  return best;
}

/**
 * The agent whose jobs run next under `policy`, given the active tenants in
 * rotation order (each with at least one active agent), or null if none.
 */
export function pickAgent(policy: SchedPolicy, tenants: Map<string, TenantRec>): AgentRec | null {
  switch (policy) {
    case "fair": {
      const tenant = minByVruntime(tenants.values());
      return tenant === null ? null : minByVruntime(tenant.active.values());
    }
    case "round-robin": {
      const tenant = first(tenants.values());
      return tenant === null ? null : first(tenant.active.values());
    }
    case "priority": {
      let best: AgentRec | null = null;
      for (const tenant of tenants.values()) {
        for (const agent of tenant.active.values()) {
          if (
            best === null || agent.priority < best.priority ||
            (agent.priority === best.priority && agent.jobs.headSeq < best.jobs.headSeq)
          ) best = agent;
        }
      }
      return best;
    }
  }
}

function first<T>(values: Iterator<T>): T | null {
  const next = values.next();
  return next.done ? null : next.value;
}
