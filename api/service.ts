/**
 * The product logic behind the routes: tenants and keys, quotas, spawning
 * with tenant ceilings, agent records, the audit log and the event feed.
 * Routes (api/app.ts) only parse, authenticate and format.
 *
 * @module
 */

import { KernelError } from "../kernel/mod.ts";
import { agentLimitsDefault } from "../kernel/mod.ts";
import type { AgentLimits, Capability } from "../kernel/process/mod.ts";
import {
  type AgentSlot,
  QuotaError,
  type TenantQuota,
  type TenantQuotas,
  tenantQuotasDefault,
} from "../kernel/tenants/mod.ts";
import { resolveLimits } from "../sandbox/mod.ts";
import { storedOutputCharsMax } from "../sandbox/mod.ts";
import type { Agent, ExitSummary, Runtime, RuntimeEvent } from "../sandbox/mod.ts";
import { EventFeed } from "./events.ts";
import type { AgentRow, Quotas, Store, TenantRow } from "./store.ts";
import type { z } from "zod";
import type { spawnSchema } from "./schemas.ts";
import type { Decision, PolicyRequest } from "../sandbox/policy/mod.ts";
import { AdmissionQueue, type AdmissionStats, type SchedPolicy, type SchedStats } from "../kernel/sched/mod.ts";
import { auditDenialMessageCharsMax, auditFlushMs, DenialAuditGate } from "./audit_denials.ts";

/** Denial-audit caps live with the gate; `auditFlushMs` is re-exported where it always was. */
export { auditFlushMs } from "./audit_denials.ts";

/** Quotas a tenant gets unless an admin sets others: the kernel's tenant-wide quotas and per-agent ceilings. */
export const quotasDefault: Readonly<TenantQuotas & { outputBytes: number }> = Object.freeze({
  ...tenantQuotasDefault,
  /** Ceiling of an agent's `outputBytes`: output beyond what is kept is streamed, not stored, but still costs. */
  outputBytes: 16 * 1024 * 1024,
});

/** The HTTP error code of each tenant quota a spawn can hit. */
const quotaCodes: Partial<Record<TenantQuota, { code: string; what: string }>> = {
  agentsConcurrentMax: { code: "quota_agents", what: "concurrent agents" },
  rssMbTotal: { code: "quota_memory", what: "RSS budget" },
  spawnsPerSec: { code: "quota_spawn_rate", what: "spawn rate" },
};
/** Agent ids remembered for events still in the ring (one per spawn, oldest forgotten first). */
export const agentIdsMax = 65_536;
/** Live agents across all tenants; past this, spawns wait in the admission queue. */
export const serverAgentsMax = 1000;
/** Spawns that may wait for admission; past this they get 503. */
export const admissionQueueMax = 1000;

/** An HTTP-facing error with a machine-readable code. */
export class ApiError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503;
  readonly code: string;
  readonly issues?: unknown[];
  readonly retryAfterSec?: number;

  /** @param status HTTP status, @param code machine-readable code */
  constructor(
    status: ApiError["status"],
    code: string,
    message: string,
    extra: { issues?: unknown[]; retryAfterSec?: number } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = extra.issues;
    this.retryAfterSec = extra.retryAfterSec;
  }
}

/** Who is calling. */
export interface Principal {
  tenant: TenantRow;
  /** SHA-256 (hex) of the API key the caller used: the HTTP edge's rate and stream buckets. */
  keyHash: string;
}

interface LiveAgent {
  id: string;
  agent: Agent;
  tenantId: string;
  createdAt: string;
  capabilities: string[];
  limits: AgentLimits;
  /** The durable record of the agent's end, once written (what status and wait answer from then on). */
  final?: AgentRow;
  /** Resolves once the end is decided and recorded durably. */
  recorded: Promise<AgentRow>;
  /** Resolves once every resource of the agent was released. */
  finished: Promise<AgentRow>;
}

type SpawnBody = z.infer<typeof spawnSchema>;

/** The service. */
export class Service {
  readonly feed: EventFeed;
  #agentIdByUid = new Map<number, string>();
  readonly admission: AdmissionQueue;
  #runtime: Runtime;
  #store: Store;
  #live = new Map<string, LiveAgent>();
  #byPid = new Map<number, LiveAgent>();
  #auditBuffer: Parameters<Store["audit"]>[0] = [];
  /** Which denials get an audit row, per tenant and agent (see `api/audit_denials.ts`). */
  readonly denialAudit = new DenialAuditGate();
  #flushTimer: ReturnType<typeof setInterval>;
  #keyCache = new Map<string, TenantRow>();
  shuttingDown = false;

  /** @param runtime the kernel runtime, @param store durable state */
  constructor(runtime: Runtime, store: Store, options: { agentsMax?: number } = {}) {
    this.#runtime = runtime;
    this.#store = store;
    runtime.subscribe((event) => this.#onRuntimeEvent(event));
    this.feed = new EventFeed(runtime.obs, (uid) => this.#agentIdByUid.get(uid));
    this.#flushTimer = setInterval(() => this.flushAudit(), auditFlushMs);
    this.admission = new AdmissionQueue({ slots: options.agentsMax ?? serverAgentsMax, queueMax: admissionQueueMax });
  }

  /** Scheduler state (admin). */
  scheduler(p: Principal): { policy: SchedPolicy; syscalls: SchedStats; admission: AdmissionStats } {
    this.requireAdmin(p);
    return {
      policy: this.#runtime.scheduler.stats().policy,
      syscalls: this.#runtime.scheduler.stats(),
      admission: this.admission.stats(),
    };
  }

  /** Switch the scheduling policy of syscalls and admission at run time (admin). Nothing queued is lost. */
  setScheduler(p: Principal, policy: SchedPolicy): { policy: SchedPolicy } {
    this.requireAdmin(p);
    this.#runtime.scheduler.setPolicy(policy);
    this.admission.setPolicy(policy);
    this.#auditNow(null, p.tenant.id, "scheduler.changed", null, { policy });
    return { policy };
  }

  /**
   * First start: create the admin tenant with `adminKey` or a generated key.
   * Returns the generated key (to print once) or undefined.
   */
  async bootstrap(adminKey: string | undefined): Promise<string | undefined> {
    if (this.#store.tenantCount() > 0) return undefined;
    const key = adminKey ?? newKey();
    const tenant: TenantRow = { id: newId("tn"), name: "admin", admin: true, quotas: {}, createdAt: now() };
    const hash = await hashKey(key);
    this.#store.transaction(() => {
      this.#store.insertTenant(tenant);
      this.#store.insertKey(hash, tenant.id, tenant.createdAt);
    });
    this.#audit(tenant.id, "system", "tenant.created", tenant.id, { name: "admin", admin: true });
    this.flushAudit();
    return adminKey === undefined ? key : undefined;
  }

  /** Push every tenant's stored quotas into the kernel's tenant table. */
  loadQuotas(): void {
    for (const tenant of this.#store.tenants()) {
      this.#runtime.tenants.setQuotas(tenant.id, Service.kernelQuotas(tenant.quotas));
    }
  }

  /** Load every tenant's stored policy into the kernel. */
  loadPolicies(): void {
    for (const { tenantId, policy } of this.#store.policies()) {
      this.#runtime.policy.setTenant(tenantId, policy);
      this.#runtime.obs.policy(tenantId, "tenant", this.#runtime.policy.epoch);
    }
  }

  /** Set or clear a tenant's policy, live (admin). Takes effect on the next syscall. */
  setTenantPolicy(p: Principal, id: string, policy: unknown | null): { tenantId: string; epoch: number } {
    this.requireAdmin(p);
    if (!this.#store.tenant(id)) throw new ApiError(404, "not_found", "no such tenant");
    policyOr400(() => this.#runtime.policy.setTenant(id, policy));
    this.#runtime.obs.policy(id, "tenant", this.#runtime.policy.epoch);
    this.#store.setPolicy(id, policy);
    this.#auditNow(id, p.tenant.id, "policy.changed", id, { scope: "tenant", cleared: policy === null });
    return { tenantId: id, epoch: this.#runtime.policy.epoch };
  }

  /** Set or clear a live agent's own policy. */
  setAgentPolicy(p: Principal, id: string, policy: unknown | null): { id: string; epoch: number } {
    const row = this.agent(p, id);
    const live = this.#live.get(id);
    if (!live) throw new ApiError(409, "not_running", `agent is ${row.state}`);
    policyOr400(() => this.#runtime.policy.setAgent(live.agent.pid, policy));
    this.#runtime.obs.policy(live.tenantId, "agent", this.#runtime.policy.epoch, live.agent.subject);
    this.#auditNow(live.tenantId, p.tenant.id, "policy.changed", id, { scope: "agent", cleared: policy === null });
    return { id, epoch: this.#runtime.policy.epoch };
  }

  /** Would this call be allowed, and why. */
  explain(p: Principal, body: { tenantId?: string; policy?: unknown; request: PolicyRequest }): Decision {
    const tenantId = p.tenant.admin && body.tenantId ? body.tenantId : p.tenant.id;
    return policyOr400(() => this.#runtime.policy.explain(tenantId, body.request, body.policy));
  }

  /** After a restart: agents that were running are recorded as `crash`. */
  recover(): number {
    const rows = this.#store.crashUnfinished(now(), "server restarted while the agent was running");
    for (const row of rows) this.#audit(row.tenantId, "system", "agent.exited", row.id, { reason: "crash" });
    this.flushAudit();
    return rows.length;
  }

  /** Resolve a bearer header to a principal. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9_\-]{16,128})$/.exec(header ?? "");
    if (!match) throw new ApiError(401, "unauthorized", "missing or malformed Authorization: Bearer <key>");
    const hash = await hashKey(match[1]);
    let tenant = this.#keyCache.get(hash);
    if (tenant === undefined) {
      tenant = this.#store.tenantForKey(hash);
      if (tenant === undefined) throw new ApiError(401, "unauthorized", "unknown or revoked API key");
      if (this.#keyCache.size > 10_000) this.#keyCache.clear();
      this.#keyCache.set(hash, tenant);
    }
    return { tenant, keyHash: hash };
  }

  /** Admin only. */
  requireAdmin(p: Principal): void {
    if (!p.tenant.admin) throw new ApiError(403, "forbidden", "admin key required");
  }

  /** Create a tenant and its first key (shown once). */
  async createTenant(
    p: Principal,
    name: string,
    quotas: Quotas = {},
  ): Promise<{ id: string; name: string; apiKey: string }> {
    this.requireAdmin(p);
    if (this.#store.tenantByName(name)) throw new ApiError(409, "conflict", `tenant ${name} exists`);
    const tenant: TenantRow = { id: newId("tn"), name, admin: false, quotas, createdAt: now() };
    const apiKey = newKey();
    const hash = await hashKey(apiKey);
    this.#store.transaction(() => {
      this.#store.insertTenant(tenant);
      this.#store.insertKey(hash, tenant.id, tenant.createdAt);
    });
    this.#runtime.tenants.setQuotas(tenant.id, Service.kernelQuotas(quotas));
    this.#auditNow(tenant.id, p.tenant.id, "tenant.created", tenant.id, { name, quotas });
    this.#auditNow(tenant.id, p.tenant.id, "key.issued", tenant.id, {});
    return { id: tenant.id, name, apiKey };
  }

  /** All tenants (admin). */
  listTenants(p: Principal): TenantRow[] {
    this.requireAdmin(p);
    return this.#store.tenants();
  }

  /** Replace quotas (admin). */
  patchTenant(p: Principal, id: string, quotas: Quotas): TenantRow {
    this.requireAdmin(p);
    const tenant = this.#store.tenant(id);
    if (!tenant) throw new ApiError(404, "not_found", "no such tenant");
    this.#store.updateQuotas(id, quotas);
    this.#keyCache.clear();
    this.#runtime.tenants.setQuotas(id, Service.kernelQuotas(quotas));
    this.#auditNow(id, p.tenant.id, "tenant.quotas_changed", id, { quotas });
    return { ...tenant, quotas };
  }

  /** Issue a new key for a tenant and revoke its others (admin). */
  async rotateKey(p: Principal, id: string): Promise<{ id: string; apiKey: string }> {
    this.requireAdmin(p);
    if (!this.#store.tenant(id)) throw new ApiError(404, "not_found", "no such tenant");
    const apiKey = newKey();
    const hash = await hashKey(apiKey);
    const at = now();
    this.#store.transaction(() => {
      this.#store.insertKey(hash, id, at);
      this.#store.revokeKeys(id, hash, at);
    });
    this.#keyCache.clear();
    this.#auditNow(id, p.tenant.id, "key.rotated", id, {});
    return { id, apiKey };
  }

  /**
   * Spawn an agent for the caller's tenant. Its slot in the tenant's quotas
   * (concurrent agents, RSS, spawn rate — the kernel's ledger, which
   * children count against too) is taken synchronously before the
   * admission queue, so concurrent requests cannot pass a quota together.
   */
  async spawn(p: Principal, body: SpawnBody): Promise<LiveAgent> {
    if (this.shuttingDown) throw new ApiError(503, "shutting_down", "server is shutting down");
    const tenant = p.tenant;
    const quotas = { ...quotasDefault, ...tenant.quotas };
    const limits = this.#limitsWithin(quotas, body.limits ?? {});
    let rssMb: number;
    try {
      rssMb = resolveLimits(limits).rssMb;
    } catch (err) {
      if (err instanceof KernelError) throw new ApiError(400, err.code.toLowerCase(), err.message);
      throw err;
    }
    let slot: AgentSlot;
    try {
      slot = this.#runtime.tenants.admit(tenant.id, rssMb);
    } catch (err) {
      if (!(err instanceof QuotaError)) throw err;
      const known = quotaCodes[err.quota];
      this.#quotaHit(tenant.id, err.quota);
      throw new ApiError(429, known?.code ?? "quota", err.message, { retryAfterSec: 1 });
    }
    return await this.#spawnReserved(tenant, body, limits, slot);
  }

  async #spawnReserved(
    tenant: TenantRow,
    body: SpawnBody,
    limits: Partial<AgentLimits> & { memoryMb?: number },
    slot: AgentSlot,
  ): Promise<LiveAgent> {
    let release: () => void;
    try {
      release = await this.admission.acquire(tenant.id, body.priority ?? 20);
    } catch {
      slot.release();
      throw new ApiError(503, "pool_exhausted", "server at capacity and the admission queue is full", {
        retryAfterSec: 1,
      });
    }
    const id = newId("ag");
    let agent: Agent;
    try {
      agent = await this.#runtime.spawn({
        onCreated: (created) => {
          this.#agentIdByUid.set(created.uid, id);
          if (this.#agentIdByUid.size > agentIdsMax) this.#agentIdByUid.delete(this.#agentIdByUid.keys().next().value!);
        },
        priority: body.priority,
        code: body.code,
        lang: body.lang,
        tenant: tenant.id,
        capabilities: (body.capabilities ?? []) as Capability[],
        limits,
        files: body.files,
        policy: body.policy,
        slot,
      });
    } catch (err) {
      release();
      if (err instanceof KernelError) throw new ApiError(400, err.code.toLowerCase(), err.message);
      throw err;
    }
    return this.#track(tenant, body, id, agent, release);
  }

  /** Record a started agent durably, keep it live, and follow its end (recorded, then gone). */
  #track(tenant: TenantRow, body: SpawnBody, id: string, agent: Agent, release: () => void): LiveAgent {
    const entry: LiveAgent = {
      id,
      agent,
      tenantId: tenant.id,
      createdAt: now(),
      capabilities: body.capabilities ?? [],
      limits: agent.proc.limits,
      recorded: undefined as unknown as Promise<AgentRow>,
      finished: undefined as unknown as Promise<AgentRow>,
    };
    this.#store.insertAgent({
      ...liveRow(entry),
      state: "Running",
      usage: null,
      stdout: "",
      stderr: "",
    });
    this.#auditNow(tenant.id, tenant.id, "agent.spawned", entry.id, {
      pid: agent.pid,
      capabilities: entry.capabilities,
    });
    this.#live.set(entry.id, entry);
    this.#byPid.set(agent.pid, entry);
    // The end is recorded as soon as it is decided (before the cell and the workspace are released), so an
    // answer that reports it is durable before it is sent; the slot goes back once everything is released.
    entry.recorded = agent.exited.then((summary) => this.#onExited(entry, summary));
    entry.finished = agent.done.then(async () => {
      const row = await entry.recorded;
      release();
      this.#live.delete(entry.id);
      if (this.#byPid.get(agent.pid) === entry) this.#byPid.delete(agent.pid);
      return row;
    });
    return entry;
  }

  /** Status of an agent the caller may see (404 otherwise). */
  agent(p: Principal, id: string): AgentRow {
    const live = this.#live.get(id);
    if (live && (p.tenant.admin || live.tenantId === p.tenant.id)) return live.final ?? liveRow(live);
    const row = this.#store.agent(id, p.tenant.admin ? null : p.tenant.id);
    if (!row) throw new ApiError(404, "not_found", "no such agent");
    return row;
  }

  /**
   * The answer of a run-to-completion: the agent's durable final record
   * (state, reason, `endedAt` — what a `GET` right after returns), with the
   * output it kept. Sent once the record is written, before the agent's cell
   * and workspace are released.
   */
  async answer(live: LiveAgent): Promise<AgentRow> {
    const row = await live.recorded;
    const summary = await live.agent.exited;
    return { ...row, stdout: summary.stdout, stderr: summary.stderr };
  }

  /** Wait for an agent the caller may see to finish. */
  async wait(p: Principal, id: string): Promise<AgentRow> {
    const live = this.#live.get(id);
    // Waits until the agent is gone (its resources and quota slot released), not only recorded.
    if (live && (p.tenant.admin || live.tenantId === p.tenant.id)) return await live.finished;
    return this.agent(p, id);
  }

  /** A page of agents. */
  agents(
    p: Principal,
    q: { state?: string; limit?: number; cursor?: string },
  ): { agents: AgentRow[]; next: string | null } {
    const limit = q.limit ?? 50;
    const rows = this.#store.agents(p.tenant.admin ? null : p.tenant.id, { state: q.state, limit, before: q.cursor });
    const merged = rows.map((r) => {
      const live = this.#live.get(r.id);
      return live ? liveRow(live) : r;
    });
    const last = rows.at(-1);
    return { agents: merged, next: rows.length === limit && last ? last.createdAt + last.id : null };
  }

  /** Signal an agent: `KILL` (default, reason `killed`) or `TERM` (graceful, then `KILL`). */
  kill(p: Principal, id: string, signal: "TERM" | "KILL" = "KILL"): AgentRow {
    const row = this.agent(p, id);
    const live = this.#live.get(id);
    if (live && this.#runtime.signal(live.agent.pid, signal, `${signal} by ${p.tenant.name}`)) {
      this.#auditNow(live.tenantId, p.tenant.id, "agent.killed", id, { signal });
    }
    return row;
  }

  /** Whether the caller can see agent `id`; returns its tenant id. */
  agentTenant(p: Principal, id: string): string {
    return this.agent(p, id).tenantId;
  }

  /** Audit records for the caller (all for admin). */
  auditLog(p: Principal, after: number, limit: number, action?: string) {
    this.flushAudit();
    return this.#store.auditLog(p.tenant.admin ? null : p.tenant.id, after, limit, action);
  }

  /** Live agent count per tenant (for metrics). */
  liveCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.#live.values()) counts.set(a.tenantId, (counts.get(a.tenantId) ?? 0) + 1);
    return counts;
  }

  /** Number of live agents. */
  get liveAgents(): number {
    return this.#live.size;
  }

  /**
   * Write buffered audit records, with one `denial.suppressed` row per tenant
   * whose summary is due (every pending one when `final`).
   */
  flushAudit(final = false): void {
    for (const { tenantId, count, agents, agentsOmitted } of this.denialAudit.summaries(final)) {
      this.#audit(tenantId, "kernel", "denial.suppressed", null, { count, agents, agentsOmitted });
    }
    const rows = this.#auditBuffer;
    this.#auditBuffer = [];
    try {
      this.#store.audit(rows);
    } catch (err) {
      console.error(`audit flush failed: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Stop accepting, kill everything, flush. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.feed.closeAll();
    const finished = [...this.#live.values()].map((a) => a.finished);
    await this.#runtime.close();
    await Promise.all(finished);
    clearInterval(this.#flushTimer);
    this.flushAudit(true);
  }

  #limitsWithin(quotas: Quotas, request: SpawnBody["limits"] & object): Partial<AgentLimits> & { memoryMb?: number } {
    const out: Partial<AgentLimits> & { memoryMb?: number } = { ...request };
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

  /** The kernel quotas of a tenant (what the runtime's ledger enforces): defaults with the admin's overrides. */
  static kernelQuotas(quotas: Quotas | undefined): TenantQuotas {
    const out: TenantQuotas = { ...tenantQuotasDefault };
    for (const key of Object.keys(tenantQuotasDefault) as TenantQuota[]) {
      const value = quotas?.[key];
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  /** The end is decided: write the agent's final record and its exit audit row, durably, at once. */
  #onExited(entry: LiveAgent, r: ExitSummary): AgentRow {
    const row = exitRow(entry, r, "Zombie", now());
    // The durable record keeps the start and the end of each stream; the whole of it was streamed live.
    const half = storedOutputCharsMax / 2;
    row.stdout = entry.agent.stdout.clipped(half, half);
    row.stderr = entry.agent.stderr.clipped(half, half);
    try {
      this.#store.finishAgent(row);
    } catch (err) {
      console.error(`agent record failed: ${err instanceof Error ? err.message : err}`);
    }
    try {
      this.#auditNow(entry.tenantId, "kernel", "agent.exited", entry.id, { reason: r.reason, exitCode: r.exitCode });
    } catch (err) {
      console.error(`audit record failed: ${err instanceof Error ? err.message : err}`);
    }
    entry.final = row;
    return row;
  }

  #onRuntimeEvent(event: RuntimeEvent): void {
    if (event.type === "denial") {
      const entry = this.#byPid.get(event.pid);
      if (!this.denialAudit.admit(event.tenant, entry?.id ?? `pid:${event.pid}`)) return;
      this.#audit(event.tenant, "kernel", "denial", entry?.id ?? null, {
        call: event.call,
        layer: event.layer,
        errno: event.errno,
        message: event.message.slice(0, auditDenialMessageCharsMax),
      });
    }
  }

  #quotaHit(tenantId: string, quota: string): void {
    this.#audit(tenantId, "api", "quota.exceeded", null, { quota });
    this.#runtime.obs.limit(tenantId, `quota:${quota}`, `spawn refused: ${quota}`);
  }

  #audit(tenantId: string | null, actor: string, action: string, subject: string | null, detail: unknown): void {
    this.#auditBuffer.push({ at: now(), tenantId, actor, action, subject, detail });
  }

  /** Audit synchronously: for records the API acknowledges in its response. */
  #auditNow(tenantId: string | null, actor: string, action: string, subject: string | null, detail: unknown): void {
    this.#store.audit([{ at: now(), tenantId, actor, action, subject, detail }]);
  }
}

function policyOr400<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
    if (issues) {
      const first = issues[0];
      throw new ApiError(400, "invalid_policy", `${first?.path.map(String).join(".") || "policy"}: ${first?.message}`, {
        issues: issues.slice(0, 20).map((i) => ({ path: i.path.map(String), message: i.message })),
      });
    }
    if (err instanceof RangeError) throw new ApiError(400, "invalid_policy", err.message);
    throw err;
  }
}

/** The record of an agent whose exit is known: the live view with the exit's outcome. */
function exitRow(
  live: LiveAgent,
  r: ExitSummary,
  state: "Exiting" | "Zombie",
  endedAt: string | null,
): AgentRow {
  return {
    ...liveRow(live),
    state,
    reason: r.reason,
    exitCode: r.exitCode,
    message: r.message ?? null,
    result: r.result,
    usage: { ...r.usage },
    stdout: r.stdout,
    stderr: r.stderr,
    endedAt,
  };
}

function liveRow(live: LiveAgent): AgentRow {
  const proc = live.agent.proc;
  return {
    id: live.id,
    tenantId: live.tenantId,
    pid: proc.pid,
    state: proc.state,
    reason: proc.exit?.reason ?? null,
    exitCode: proc.exit?.exitCode ?? null,
    message: proc.exit?.message ?? null,
    result: null,
    usage: { ...live.agent.usage, wallMs: Math.round(performance.now() - proc.startedAtMs) },
    stdout: live.agent.stdout.text(),
    stderr: live.agent.stderr.text(),
    capabilities: live.capabilities,
    limits: { ...live.limits },
    createdAt: live.createdAt,
    endedAt: null,
  };
}

/** sha256 hex of an API key: the only form stored. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return new Uint8Array(digest).toHex();
}

function newKey(): string {
  return `aos_${crypto.getRandomValues(new Uint8Array(24)).toHex()}`;
}

function newId(prefix: string): string {
  return `${prefix}_${crypto.getRandomValues(new Uint8Array(12)).toHex()}`;
}

function now(): string {
  return new Date().toISOString();
}
