/**
 * Spawning for a tenant: the tenant's ceilings on an agent's limits, its
 * slot in the kernel's quota ledger (taken synchronously, before the
 * admission queue), the wait for admission, the spawn, and the agent's
 * record — written durably before the agent's code is sent, so a store that
 * refuses it refuses the spawn (503, nothing of it left reserved). Also the
 * server-wide caps on live and waiting agents.
 *
 * @module
 */

import type { z } from "zod";
import { agentLimitsDefault, KernelError } from "../kernel/mod.ts";
import type { AgentLimits, Capability } from "../kernel/process/mod.ts";
import type { AdmissionQueue } from "../kernel/sched/mod.ts";
import { type AgentSlot, QuotaError, type TenantQuota } from "../kernel/tenants/mod.ts";
import { CellsBusyError, resolveLimits } from "../sandbox/mod.ts";
import type { Agent, Runtime } from "../sandbox/mod.ts";
import type { AgentTable, LiveAgent } from "./agent_table.ts";
import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import { newId } from "./ids.ts";
import type { spawnSchema } from "./schemas.ts";
import type { Quotas, TenantRow } from "./store.ts";
import type { StoreErrors } from "./store_errors.ts";
import { quotasDefault } from "./tenant_keys.ts";

/** Live agents across all tenants; past this, spawns wait in the admission queue. */
export const serverAgentsMax = 1000;
/** Spawns that may wait for admission; past this they get 503. */
export const admissionQueueMax = 1000;

/** The HTTP error code of each tenant quota a spawn can hit. */
const quotaCodes: Partial<Record<TenantQuota, { code: string; what: string }>> = {
  agentsConcurrentMax: { code: "quota_agents", what: "concurrent agents" },
  rssMbTotal: { code: "quota_memory", what: "RSS budget" },
  spawnsPerSec: { code: "quota_spawn_rate", what: "spawn rate" },
};

/** A spawn request's body, as validated. */
export type SpawnBody = z.infer<typeof spawnSchema>;

/** What the API's own callers (sessions) add to a spawn: a REPL host, a kept workspace. */
export interface SpawnExtras {
  session?: boolean;
  workspace?: { reuse?: string; keep?: boolean };
}

/** The limits an agent asks for, after the tenant's ceilings. */
type SpawnLimits = Partial<AgentLimits> & { memoryMb?: number };

/** What a spawn uses of the service. */
export interface SpawnDeps {
  runtime: Runtime;
  admission: AdmissionQueue;
  agents: AgentTable;
  audit: AuditLog;
  errors: StoreErrors;
  /** A tenant quota refused the spawn (webhooks' `quota.hit`). */
  quotaHit?: (tenantId: string, quota: string) => void;
}

/**
 * Spawn an agent for `tenant`. Its slot in the tenant's quotas (concurrent
 * agents, RSS, spawn rate — the kernel's ledger, which children count
 * against too) is taken synchronously before the admission queue, so
 * concurrent requests cannot pass a quota together.
 *
 * @throws {ApiError} 400 for limits above a ceiling or refused by the kernel, 429 for a quota, 503 when the
 *   admission queue is full, no cell could start in time (`cells_busy`) or the store refuses the agent's record
 *   (`storage_full`, ...)
 */
export async function spawnAgent(
  deps: SpawnDeps,
  tenant: TenantRow,
  body: SpawnBody,
  options: SpawnExtras = {},
): Promise<LiveAgent> {
  const quotas = { ...quotasDefault, ...tenant.quotas };
  const limits = limitsWithin(quotas, body.limits ?? {});
  let rssMb: number;
  try {
    rssMb = resolveLimits(limits).rssMb;
  } catch (err) {
    if (err instanceof KernelError) throw new ApiError(400, err.code.toLowerCase(), err.message);
    throw err;
  }
  let slot: AgentSlot;
  try {
    slot = deps.runtime.tenants.admit(tenant.id, rssMb);
  } catch (err) {
    if (!(err instanceof QuotaError)) throw err;
    const known = quotaCodes[err.quota];
    quotaHit(deps, tenant.id, err.quota);
    throw new ApiError(429, known?.code ?? "quota", err.message, { retryAfterSec: 1 });
  }
  return await spawnReserved(deps, tenant, body, limits, slot, options);
}

async function spawnReserved(
  deps: SpawnDeps,
  tenant: TenantRow,
  body: SpawnBody,
  limits: SpawnLimits,
  slot: AgentSlot,
  extras: SpawnExtras,
): Promise<LiveAgent> {
  let release: () => void;
  try {
    release = await deps.admission.acquire(tenant.id, body.priority ?? 20);
  } catch {
    slot.release();
    throw new ApiError(503, "pool_exhausted", "server at capacity and the admission queue is full", {
      retryAfterSec: 1,
    });
  }
  const id = newId("ag");
  let live: LiveAgent | undefined;
  const spawned = { capabilities: body.capabilities ?? [], policy: body.policy ?? null, labels: body.labels ?? {} };
  const track = (agent: Agent) => live = deps.agents.track(tenant.id, spawned, id, agent, release);
  try {
    const agent = await deps.runtime.spawn({
      onCreated: (created) => deps.agents.remember(created.uid, id),
      // The record is durable before any of the agent's code runs; if the store refuses it, nothing runs.
      beforeRun: track,
      priority: body.priority,
      trace: body.trace,
      code: body.code,
      lang: body.lang,
      session: extras.session,
      workspace: extras.workspace,
      tenant: tenant.id,
      capabilities: (body.capabilities ?? []) as Capability[],
      limits,
      files: seedFiles(body.files),
      volumes: body.volumes,
      policy: body.policy,
      slot,
    });
    // An agent that ended before its code was sent (its cell failed to start) is recorded as it ended.
    return live ?? track(agent);
  } catch (err) {
    // Idempotent: an agent that was tracked gives its admission back when it is gone, too.
    release();
    if (live === undefined) deps.agents.forget(id);
    if (err instanceof CellsBusyError) {
      throw new ApiError(503, err.apiCode, err.message, { retryAfterSec: err.retryAfterSec });
    }
    if (err instanceof KernelError) throw new ApiError(400, err.code.toLowerCase(), err.message);
    throw deps.errors.failed("agent record (start)", err) ?? err;
  }
}

/** Spawn `files` as the runtime takes them: text as is, `{base64}` decoded (the schema checked the alphabet). */
function seedFiles(files: SpawnBody["files"]): Record<string, string | Uint8Array> | undefined {
  if (files === undefined) return undefined;
  const out: Record<string, string | Uint8Array> = {};
  for (const [path, content] of Object.entries(files)) {
    out[path] = typeof content === "string" ? content : Uint8Array.fromBase64(content.base64);
  }
  return out;
}

/** The requested limits within the tenant's ceilings: above one is a 400; an unset default above one is lowered. */
function limitsWithin(quotas: Quotas, request: SpawnBody["limits"] & object): SpawnLimits {
  const out: SpawnLimits = { ...request };
  const ceilings: (keyof AgentLimits)[] = ["heapMb", "rssMb", "wallMs", "cpuMs", "outputBytes", "diskBytes"];
  for (const key of ceilings) {
    const ceiling = key === "diskBytes" ? quotas.diskBytes : quotas[key as keyof Quotas];
    if (ceiling === undefined) continue;
    const asked = key === "heapMb" ? request.heapMb ?? request.memoryMb : request[key];
    if (asked !== undefined && asked > ceiling) {
      throw new ApiError(
        400,
        "limit_above_ceiling",
        `limits.${key}=${asked} is above the tenant's ceiling of ${ceiling}`,
        {
          issues: [{ path: ["limits", key], message: `max ${ceiling}` }],
        },
      );
    }
    if (asked === undefined && agentLimitsDefault[key] > ceiling) out[key] = ceiling;
  }
  return out;
}

function quotaHit(deps: SpawnDeps, tenantId: string, quota: string): void {
  deps.audit.record(tenantId, "api", "quota.exceeded", null, { quota });
  deps.runtime.obs.limit(tenantId, `quota:${quota}`, `spawn refused: ${quota}`);
  deps.quotaHit?.(tenantId, quota);
}
