/**
 * `PATCH /v1/agents/:id`: change a running agent's wall-clock limit
 * (`wallMs`, measured from its start — longer or shorter, within its
 * tenant's ceiling) and its labels. The new limits and the audit row commit
 * in one transaction before the supervisor re-arms its timer and before the
 * answer.
 *
 * @module
 */

import { agentLimitsMax } from "../kernel/mod.ts";
import type { Runtime } from "../sandbox/mod.ts";
import type { LiveAgent } from "./agent_table.ts";
import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import type { AgentRow, Store } from "./store.ts";
import type { Principal } from "./tenant_keys.ts";

/** A patch, as validated (`agentPatchSchema`). */
export interface AgentPatch {
  wallMs?: number;
  labels?: Record<string, string>;
}

/** What a patch works on. */
export interface AgentPatchDeps {
  runtime: Runtime;
  store: Store;
  audit: AuditLog;
  /** The agent's record (the caller may see it: a 404 was raised before). */
  row: AgentRow;
  /** The agent, while it is followed. */
  live: LiveAgent | undefined;
}

/**
 * Apply a patch to an agent.
 *
 * @throws {ApiError} 409 `agent_not_running` (only a running agent's `wallMs` changes), 400 `limit_above_ceiling`
 * @example
 * ```ts
 * patchAgent({ runtime, store, audit, row, live }, p, { wallMs: 120_000 });
 * ```
 */
export function patchAgent(d: AgentPatchDeps, p: Principal, body: AgentPatch): void {
  if (body.wallMs !== undefined) patchWall(d, p, body.wallMs);
  if (body.labels !== undefined) patchLabels(d, p, body.labels);
}

function patchLabels(d: AgentPatchDeps, p: Principal, labels: Record<string, string>): void {
  d.store.transaction(() => {
    d.store.setAgentLabels(d.row.id, labels);
    d.audit.write(d.row.tenantId, p.tenant.id, "agent.updated", d.row.id, { labels });
  });
  if (d.live) d.live.labels = labels;
}

function patchWall(d: AgentPatchDeps, p: Principal, wallMs: number): void {
  const { row, live } = d;
  if (!live || live.agent.exitStarted || live.agent.proc.state !== "Running") {
    throw new ApiError(
      409,
      "agent_not_running",
      `agent ${row.id} is ${live?.agent.proc.state ?? row.state}: only a running agent's wallMs can change`,
    );
  }
  const quota = d.store.tenant(live.tenantId)?.quotas.wallMs;
  const ceiling = quota ?? agentLimitsMax.wallMs;
  if (wallMs > ceiling) {
    const which = quota === undefined ? "server's agentLimitsMax.wallMs" : "tenant's ceiling (quotas.wallMs)";
    throw new ApiError(400, "limit_above_ceiling", `wallMs=${wallMs} is above the ${which} of ${ceiling}`, {
      issues: [{ path: ["wallMs"], message: `max ${ceiling}` }],
    });
  }
  const limits = { ...live.limits, wallMs: wallMs };
  d.store.transaction(() => {
    d.store.setAgentLimits(row.id, limits);
    d.audit.write(live.tenantId, p.tenant.id, "agent.updated", row.id, {
      wallMs: wallMs,
      previousWallMs: live.limits.wallMs,
    });
  });
  // No await since the state was checked: the agent is still running.
  d.runtime.setWallMs(live.agent.pid, wallMs);
  live.limits = limits;
}
