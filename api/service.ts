/**
 * The product logic behind the routes: tenants and keys, quotas, spawning
 * with tenant ceilings, agent records, the audit log and the event feed.
 * Routes (api/app.ts) only parse, authenticate and format.
 *
 * {@linkcode Service} is the one object the routes hold; its parts live
 * beside it: tenants and keys (`api/tenant_keys.ts`), spawning
 * (`api/spawn.ts`), live agents and their records (`api/agent_table.ts`),
 * the audit log (`api/audit_log.ts`), API errors (`api/api_error.ts`),
 * store failures (`api/store_errors.ts`) and final records the store refused
 * (`api/pending_records.ts`).
 *
 * A 2xx that reports a state change leaves after that change and its audit
 * row were committed in one transaction; a kernel change that can be
 * refused (a policy document) is made inside that transaction, last, and
 * undone if the commit fails; one that cannot (quotas, the scheduling
 * policy) follows the commit.
 *
 * @module
 */

import type { TenantQuotas } from "../kernel/tenants/mod.ts";
import type { Runtime, RuntimeEvent } from "../sandbox/mod.ts";
import type { Decision, PolicyRequest } from "../sandbox/policy/mod.ts";
import { explainRequest, type ImportAnswer, type ImportQuestion } from "./explain.ts";

import { AdmissionQueue, type AdmissionStats, type SchedPolicy, type SchedStats } from "../kernel/sched/mod.ts";
import { type AgentAnswer, AgentTable, type LiveAgent } from "./agent_table.ts";
import { ApiError, policyOr400 } from "./api_error.ts";
import { DenialAuditGate } from "./audit_denials.ts";
import type { AuditAction } from "./audit_actions.ts";
import { AuditLog } from "./audit_log.ts";
import { ApiKeys } from "./api_keys.ts";
import type { LabelFilter } from "./labels.ts";
import { EgressMeter, type TenantUsage, tenantUsage } from "./usage.ts";
import { type AgentPatch, patchAgent } from "./agent_patch.ts";
import { EventFeed } from "./events.ts";
import { agentFileScope, filesCalls, type FileScope } from "./files.ts";
import { now } from "./ids.ts";
import { PendingRecords } from "./pending_records.ts";
import { admissionQueueMax, serverAgentsMax, spawnAgent, type SpawnBody, type SpawnExtras } from "./spawn.ts";
import type { AgentRow, Quotas, Store, TenantRow } from "./store.ts";
import { type StoreErrorCode, StoreErrors } from "./store_errors.ts";
import { Sessions } from "./sessions.ts";
import { Traces, type TracesOptions } from "./traces.ts";
import { kernelQuotas, type Principal, requireAdmin, TenantKeys } from "./tenant_keys.ts";
import { VolumeService } from "./volumes.ts";
import { PackageStore } from "../sandbox/packages/mod.ts";
import { webhookEvents } from "./webhook_events.ts";
import { type WebhookOptions, WebhookService } from "./webhooks/mod.ts";
import { ApprovalService } from "./approvals.ts";

/** Denial-audit caps live with the gate; `auditFlushMs` is re-exported where it always was. */
export { auditFlushMs } from "./limits.ts";
export { type AgentAnswer, agentIdsMax } from "./agent_table.ts";
export { ApiError } from "./api_error.ts";
export { admissionQueueMax, serverAgentsMax } from "./spawn.ts";
export { hashKey, type Principal, quotasDefault } from "./tenant_keys.ts";
export type { ImportAnswer, ImportQuestion } from "./explain.ts";

/** What the store refused so far and what the service holds because of it (for `/metrics`). */
export interface StoreStats {
  errors: Map<StoreErrorCode, number>;
  auditBuffered: number;
  auditDropped: number;
  recordsPending: number;
  recordsLost: number;
}

/** The service. */
export class Service {
  readonly feed: EventFeed;
  /** Every agent's events, stored (see `api/traces.ts`). */
  readonly traces: Traces;
  readonly admission: AdmissionQueue;
  /** Which denials get an audit row, per tenant and agent (see `api/audit_denials.ts`). */
  readonly denialAudit = new DenialAuditGate();
  /** Volumes: create, list, delete, and their files' scopes. */
  readonly volumes: VolumeService;
  shuttingDown = false;
  /** Stateful code contexts (each hosted by an agent of this service). */
  readonly sessions: Sessions;
  /** The operator-curated npm packages agents may import (see `sandbox/packages/`). */
  readonly packages: PackageStore;
  /** Tenants' webhook endpoints and the delivery queue (see `api/webhooks/`). */
  readonly webhooks: WebhookService;
  /** Calls waiting for a person's decision (policy `ask` rules). */
  readonly approvals: ApprovalService;
  #runtime: Runtime;
  #store: Store;
  #audit: AuditLog;
  #agents: AgentTable;
  #tenants: TenantKeys;
  /** Tenants' API keys (`api/api_keys.ts`). */
  readonly keys: ApiKeys;
  #errors = new StoreErrors();
  #egress = new EgressMeter();
  #pending: PendingRecords;

  /**
   * @param runtime the kernel runtime, @param store durable state, @param options caps, trace bounds, the
   * package store (default: `<dataDir>/packages`, `dataDir` default `./data`)
   */
  constructor(
    runtime: Runtime,
    store: Store,
    options: {
      agentsMax?: number;
      traces?: TracesOptions;
      packages?: PackageStore;
      dataDir?: string;
      webhooks?: WebhookOptions;
    } = {},
  ) {
    this.packages = options.packages ?? new PackageStore(PackageStore.defaultDir(options.dataDir ?? "./data"));
    this.#runtime = runtime;
    this.#store = store;
    this.#audit = new AuditLog(store, this.denialAudit, this.#errors);
    const agentIds = (uid: number) => this.#agents.idOfUid(uid);
    this.feed = new EventFeed(runtime.obs, agentIds);
    this.traces = new Traces(store, this.feed, runtime.obs, agentIds, this.#errors, options.traces);
    this.#pending = new PendingRecords(store, this.#errors, { traces: this.traces });
    this.#agents = new AgentTable(store, this.#audit, this.#errors, this.#pending, this.traces);
    this.#tenants = new TenantKeys(runtime, store, this.#audit);
    this.keys = new ApiKeys(store, this.#audit, this.#tenants);
    this.volumes = new VolumeService(runtime, store, this.#audit);
    runtime.obs.knownCalls(filesCalls);
    runtime.subscribe((event) => this.#onRuntimeEvent(event));
    const reserved = (addr: Uint8Array, port: number) => runtime.policy.reservedEndpoint(addr, port);
    this.webhooks = new WebhookService(store, this.#audit, reserved, options.webhooks);
    runtime.subscribe((event) => webhookEvents(event, (pid) => this.#agents.byPid(pid), this.webhooks));
    this.approvals = new ApprovalService(runtime, this.#audit, this.webhooks, (pid) => this.#agents.byPid(pid)?.id);
    this.admission = new AdmissionQueue({ slots: options.agentsMax ?? serverAgentsMax, queueMax: admissionQueueMax });
    this.sessions = new Sessions(this, runtime, store);
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
    this.#audit.write(null, p.tenant.id, "scheduler.changed", null, { policy });
    this.#runtime.scheduler.setPolicy(policy);
    this.admission.setPolicy(policy);
    return { policy };
  }

  /**
   * First start: create the admin tenant with `adminKey` or a generated key.
   * Returns the generated key (to print once) or undefined.
   */
  bootstrap(adminKey: string | undefined): Promise<string | undefined> {
    return this.#tenants.bootstrap(adminKey);
  }

  /** Push every tenant's stored quotas into the kernel's tenant table. */
  loadQuotas(): void {
    this.#tenants.loadQuotas();
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
    const previous = this.#store.policies().find((row) => row.tenantId === id)?.policy ?? null;
    this.#durably(
      () => {
        this.#store.setPolicy(id, policy);
        this.#audit.write(id, p.tenant.id, "policy.changed", id, { scope: "tenant", cleared: policy === null });
      },
      () => policyOr400(() => this.#runtime.policy.setTenant(id, policy)),
      () => this.#runtime.policy.setTenant(id, previous),
    );
    this.#runtime.obs.policy(id, "tenant", this.#runtime.policy.epoch);
    return { tenantId: id, epoch: this.#runtime.policy.epoch };
  }

  /** Set or clear a live agent's own policy. */
  setAgentPolicy(p: Principal, id: string, policy: unknown | null): { id: string; epoch: number } {
    const row = this.agent(p, id);
    const live = this.#agents.live(id);
    if (!live) throw new ApiError(409, "not_running", `agent is ${row.state}`);
    const previous = live.policy;
    this.#durably(
      () =>
        this.#audit.write(live.tenantId, p.tenant.id, "policy.changed", id, {
          scope: "agent",
          cleared: policy === null,
        }),
      () => policyOr400(() => this.#runtime.policy.setAgent(live.agent.pid, policy)),
      () => this.#runtime.policy.setAgent(live.agent.pid, previous),
    );
    live.policy = policy;
    this.#runtime.obs.policy(live.tenantId, "agent", this.#runtime.policy.epoch, live.agent.subject);
    return { id, epoch: this.#runtime.policy.epoch };
  }

  /** Would this call (or this package import) be allowed, and why. */
  async explain(
    p: Principal,
    body: { tenantId?: string; policy?: unknown; request: PolicyRequest | ImportQuestion },
  ): Promise<Decision | ImportAnswer> {
    return await explainRequest(this.#runtime, p, body);
  }

  /** After a restart: agents that were running are recorded as `crash` (with their audit rows, one transaction). */
  recover(): number {
    return this.#store.transaction(() => {
      const rows = this.#store.crashUnfinished(now(), "server restarted while the agent was running");
      for (const row of rows) this.#audit.write(row.tenantId, "system", "agent.exited", row.id, { reason: "crash" });
      this.sessions.recover();
      return rows.length;
    });
  }

  /** Resolve a bearer header to a principal. */
  authenticate(header: string | undefined): Promise<Principal> {
    return this.#tenants.authenticate(header);
  }

  /** Admin only. */
  requireAdmin(p: Principal): void {
    requireAdmin(p);
  }

  /** Create a tenant and its first key (shown once). */
  createTenant(p: Principal, name: string, quotas: Quotas = {}): Promise<{ id: string; name: string; apiKey: string }> {
    return this.#tenants.create(p, name, quotas);
  }

  /** All tenants (admin). */
  listTenants(p: Principal): TenantRow[] {
    return this.#tenants.list(p);
  }

  /** Replace quotas (admin). */
  patchTenant(p: Principal, id: string, quotas: Quotas): TenantRow {
    return this.#tenants.patch(p, id, quotas);
  }

  /**
   * Spawn an agent for the caller's tenant. Its slot in the tenant's quotas
   * (concurrent agents, RSS, spawn rate — the kernel's ledger, which
   * children count against too) is taken synchronously before the
   * admission queue, so concurrent requests cannot pass a quota together.
   */
  async spawn(p: Principal, body: SpawnBody, options: SpawnExtras = {}): Promise<LiveAgent> {
    if (this.shuttingDown) throw new ApiError(503, "shutting_down", "server is shutting down");
    const deps = {
      runtime: this.#runtime,
      admission: this.admission,
      agents: this.#agents,
      audit: this.#audit,
      errors: this.#errors,
      quotaHit: (tenantId: string, quota: string) => this.webhooks.quotaHit(tenantId, { agentId: null, quota }),
    };
    return await spawnAgent(deps, p.tenant, body, options);
  }

  /**
   * Commit `write` and its audit row in one transaction, for state kept
   * beside the agents (sessions); a store that refuses it is the store's 503.
   */
  commit(
    write: () => void,
    audit: { tenantId: string; actor: string; action: AuditAction; subject: string; detail: unknown },
  ) {
    try {
      this.#store.transaction(() => {
        write();
        this.#audit.write(audit.tenantId, audit.actor, audit.action, audit.subject, audit.detail);
      });
    } catch (err) {
      throw this.storeFailure(audit.action, err) ?? err;
    }
  }

  /** The agent of a live row, if it is still running. */
  liveAgent(id: string): LiveAgent | undefined {
    return this.#agents.live(id);
  }

  /** Status of an agent the caller may see (404 otherwise). */
  agent(p: Principal, id: string): AgentRow {
    return this.#agents.row(p, id);
  }

  /**
   * The answer of a run-to-completion: the agent's durable final record
   * (state, reason, `endedAt` — what a `GET` right after returns), with the
   * output it kept. Sent once the record is written, before the agent's cell
   * and workspace are released; `notDurable` says the store refused it (the
   * answer is a 503 then, the record is written again in the background).
   */
  answer(live: LiveAgent): Promise<AgentAnswer> {
    return this.#agents.answer(live);
  }

  /** Wait for an agent the caller may see to finish; `notDurable` as for {@linkcode Service.answer}. */
  wait(p: Principal, id: string): Promise<AgentAnswer> {
    return this.#agents.wait(p, id);
  }

  /** A page of agents. */
  agents(
    p: Principal,
    q: { state?: string; limit?: number; cursor?: string; labels?: LabelFilter[] },
  ): { agents: AgentRow[]; next: string | null } {
    return this.#agents.page(p, q);
  }

  /**
   * Change a running agent's `wallMs` (within its tenant's ceiling) or labels (`api/agent_patch.ts`).
   *
   * @throws {ApiError} 404, 409 `agent_not_running`, 400 `limit_above_ceiling`
   */
  patchAgent(p: Principal, id: string, body: AgentPatch): AgentRow {
    const d = { runtime: this.#runtime, store: this.#store, audit: this.#audit };
    patchAgent({ ...d, row: this.agent(p, id), live: this.#agents.live(id) }, p, body);
    return this.agent(p, id);
  }

  /** Signal an agent: `KILL` (default, reason `killed`) or `TERM` (graceful, then `KILL`). */
  kill(p: Principal, id: string, signal: "TERM" | "KILL" = "KILL"): AgentRow {
    const row = this.agent(p, id);
    const live = this.#agents.live(id);
    // The audit row is durable before the signal (nothing in between can end the agent: no await).
    if (live && !live.agent.exitStarted) {
      this.#audit.write(live.tenantId, p.tenant.id, "agent.killed", id, { signal });
      this.#runtime.signal(live.agent.pid, signal, `${signal} by ${p.tenant.name}`);
    }
    return row;
  }

  /**
   * The files scope of a running agent's workspace (with its mounts).
   *
   * @throws {ApiError} 404 (not the caller's), 409 `agent_ended` (its workspace is removed at exit)
   */
  agentFiles(p: Principal, id: string): FileScope {
    const row = this.agent(p, id);
    const live = this.#agents.live(id);
    if (!live || live.agent.exitStarted) {
      throw new ApiError(
        409,
        "agent_ended",
        `agent ${id} has ended (${row.state}): its workspace was removed at exit; keep files in a volume to read them later`,
      );
    }
    return agentFileScope(this.#runtime, live.agent.pid, live.agent.subject, `agent ${id}`);
  }

  /** Whether agent `id` is still followed by this process (its events may still come). */
  agentLive(id: string): boolean {
    return this.#agents.live(id) !== undefined;
  }

  /** Whether the caller can see agent `id`; returns its tenant id. */
  agentTenant(p: Principal, id: string): string {
    return this.agent(p, id).tenantId;
  }

  /** Audit records for the caller (all for admin). */
  auditLog(p: Principal, after: number, limit: number, action?: string): ReturnType<Store["auditLog"]> {
    this.flushAudit();
    return this.#store.auditLog(p.tenant.admin ? null : p.tenant.id, after, limit, action);
  }

  /** Live agent count per tenant (for metrics). */
  liveCounts(): Map<string, number> {
    return this.#agents.liveCounts();
  }

  /**
   * A request failed: its answer if the store refused it (a 503, counted and logged), undefined otherwise.
   *
   * @param what the request, for the log line
   * @param err what it threw
   */
  storeFailure(what: string, err: unknown): ApiError | undefined {
    return this.#errors.failed(what, err);
  }

  /** Store failures and what the service holds because of them. */
  storeStats(): StoreStats {
    return {
      errors: this.#errors.counts(),
      auditBuffered: this.#audit.buffered,
      auditDropped: this.#audit.dropped,
      recordsPending: this.#pending.size,
      recordsLost: this.#pending.lost,
    };
  }

  /** Number of live agents. */
  get liveAgents(): number {
    return this.#agents.size;
  }

  /**
   * Write buffered audit records, with one `denial.suppressed` row per tenant
   * whose summary is due (every pending one when `final`).
   */
  flushAudit(final = false): void {
    this.#audit.flush(final);
  }

  /** Stop accepting, kill everything, flush. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.feed.closeAll();
    this.sessions.closeAll();
    const finished = this.#agents.finished();
    await this.#runtime.close();
    await Promise.all(finished);
    await this.webhooks.stop();
    this.#pending.retry();
    this.#pending.close();
    this.traces.stop();
    this.#audit.stop();
    if (!this.#audit.flush(true)) {
      console.error(`${this.#audit.buffered} audit row(s) could not be written at shutdown`);
    }
  }

  /** The kernel quotas of a tenant (what the runtime's ledger enforces): defaults with the admin's overrides. */
  static kernelQuotas(quotas: Quotas | undefined): TenantQuotas {
    return kernelQuotas(quotas);
  }

  /**
   * `write` (store rows, audit rows) and then `apply` (the kernel's side) in
   * one transaction; if the commit fails after `apply`, `undo` puts the
   * kernel back. What `apply` throws (a 400) rolls the writes back.
   */
  #durably(write: () => void, apply: () => void, undo: () => void): void {
    let applied = false;
    try {
      this.#store.transaction(() => {
        write();
        apply();
        applied = true;
      });
    } catch (err) {
      if (applied) undo();
      throw err;
    }
  }

  /**
   * A tenant's usage in the current UTC day (`api/usage.ts`): admin or the tenant itself.
   *
   * @throws {ApiError} 404 for a tenant the caller may not see
   */
  usage(p: Principal, id: string): TenantUsage {
    const tenant = p.tenant.admin || p.tenant.id === id ? this.#store.tenant(id) : undefined;
    if (!tenant) throw new ApiError(404, "not_found", "no such tenant");
    const volumeBytes = this.volumes.list({ tenant, keyHash: "" }).reduce((n, v) => n + v.usedBytes, 0);
    return tenantUsage({ store: this.#store, live: this.#agents.liveOf(id), volumeBytes, egress: this.#egress }, id);
  }

  #onRuntimeEvent(event: RuntimeEvent): void {
    if (event.type === "syscall" && event.call === "net.fetch" && event.bytes > 0) {
      this.#egress.add(event.tenant, event.bytes);
    }
    if (event.type === "denial") this.#audit.denial(event, this.#agents.byPid(event.pid)?.id);
    if (event.type === "import") {
      this.#audit.record(event.tenant, "kernel", "import", this.#agents.byPid(event.pid)?.id ?? null, {
        package: `${event.name}@${event.version}`,
        specifier: event.specifier.slice(0, 300),
        sha256: event.sha256,
      });
    }
  }
}
