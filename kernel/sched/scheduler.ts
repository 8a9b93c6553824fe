/**
 * The syscall scheduler: decides in which order queued syscalls (jobs) are
 * served, fair across tenants and agents, and runs them itself.
 *
 * Each round picks one agent by the policy, starts up to `quantumCalls` of
 * its jobs (in submission order) while fewer than `inflightMax` jobs are
 * running overall, then yields to the event loop with a macrotask before the
 * next round. A job's service time is measured from start to settle with the
 * injected clock and charged to the agent and its tenant.
 *
 * Fair policy (two-level CFS): pick the active tenant with the smallest
 * virtual runtime, then its active agent with the smallest virtual runtime.
 * An agent's vruntime grows by `serviceTime × 1024 / weight(priority)`, a
 * tenant's by `serviceTime` (tenants weigh the same). An expected service
 * time (EWMA) is charged when a job starts and corrected when it settles, so
 * an agent with slow jobs in flight is not picked again for free. An entity
 * that becomes active is placed at `max(own vruntime, current minimum)`, so
 * idling banks no credit. Switching to fair starts everyone even.
 *
 * Idle fast path: a job submitted while nothing is queued or running starts
 * at once (inside `submit`); any other job waits for a round. A job that
 * submits the next one of a closed loop is still running then, so a flood
 * always goes through rounds and yields to the event loop.
 *
 * Flow control at the pipe (`share.ts`): while another tenant is active, a
 * tenant with `backlogShare` jobs queued or running, or past `threadShare`
 * of the supervisor's thread in the current period (its service times and
 * the decoding of its frames, `charge`), is held — `hold(entity)` answers a
 * promise, and the supervisor decodes none of that tenant's cells' output
 * until it resolves. Under every policy a flooding tenant's queued work and
 * its use of the thread stay bounded.
 *
 * Cost: a fair pick scans the active tenants and that tenant's active agents;
 * a priority pick scans all active agents; round-robin is O(1).
 *
 * @module
 */

import { type AgentRec, newAgent, newTenant, pickAgent, type TenantRec } from "./entity.ts";
import type { SchedJob } from "./job_queue.ts";
import { macrotask } from "./macrotask.ts";
import { assertSchedPolicy, type SchedPolicy, schedPolicyDefault } from "./policy.ts";
import { weightNice0, weightOf } from "./weight.ts";
import { ShareGate } from "./share.ts";
import { shareActiveWindowMs, sharePeriodMs, tenantBacklogJobsShare, tenantThreadShare } from "../limits.ts";

/** Default jobs started per pick. */
export const quantumCallsDefault = 4;
/** Default bound on one pid's queued (not started) jobs. */
export const queueCallsMaxDefault = 8192;
/** Default bound on jobs started and not settled, over all pids. */
export const inflightMaxDefault = 1024;
/**
 * Default bound on one agent's jobs started and not settled. Every running
 * job queues completions (file, pipe, timer) on the one event loop ahead of
 * everyone else's; this bounds how deep one agent can make that queue. A
 * job that blocks stops counting after the runtime's blocking slice.
 */
export const agentInflightMaxDefault = 4;
/** Weight of the newest sample in the per-agent service-time EWMA (1/8). */
const estimateGain = 1 / 8;

/** What the scheduler needs to know about the caller of a syscall. */
export interface SchedEntity {
  /** The agent; its jobs run in submission order. */
  pid: number;
  /** The agent's tenant (must not change while the pid has jobs). */
  tenant: string;
  /** 0..39 like nice + 20: lower means more weight (20 = 1024). */
  priority: number;
}

/** `SyscallScheduler` options. */
export interface SyscallSchedulerOptions {
  /** Initial policy (default `"fair"`). */
  policy?: SchedPolicy;
  /** Clock for service times, in ms (default `performance.now`). */
  nowMs?: () => number;
  /** Jobs started per pick (default 4). */
  quantumCalls?: number;
  /** Bound on one pid's queued jobs; `submit` returns false beyond it (default 8192). */
  queueCallsMax?: number;
  /** Bound on jobs started and not settled, overall (default 1024). */
  inflightMax?: number;
  /** Bound on one agent's jobs started and not settled (default {@linkcode agentInflightMaxDefault}). */
  agentInflightMax?: number;
  /** Jobs queued or running at which a tenant is held while another is active (default {@linkcode tenantBacklogJobsShare}). */
  backlogShare?: number;
  /** How long a tenant counts as active after its last submission, ms (default {@linkcode shareActiveWindowMs}). */
  shareWindowMs?: number;
  /** Fraction of the thread one tenant may use per period while another is active (default {@linkcode tenantThreadShare}). */
  threadShare?: number;
  /** The period of `threadShare`, ms (default {@linkcode sharePeriodMs}). */
  sharePeriodMs?: number;
  /** Told about jobs that reject or throw (the scheduler itself ignores them). */
  onJobError?: (error: unknown, pid: number) => void;
}

/** One tenant in `SchedStats`. */
export interface SchedTenantStats {
  tenant: string;
  /** Jobs of this tenant that settled (since it last became busy). */
  served: number;
  queued: number;
  inflight: number;
  vruntime: number;
  /** Agents with queued or running jobs. */
  agents: number;
}

/** A snapshot of the scheduler. */
export interface SchedStats {
  policy: SchedPolicy;
  queued: number;
  inflight: number;
  /** Jobs settled since construction. */
  served: number;
  /** Jobs that rejected or threw. */
  failed: number;
  /** Times a tenant's cell reads were held by the share (since construction). */
  holds: number;
  /** Tenants held now. */
  heldTenants: number;
  tenants: SchedTenantStats[];
}

/** The record other than `self` with the smallest vruntime, or null. */
function minOthers<T extends { vruntime: number }>(records: Iterable<T>, self: T): T | null {
  let best: T | null = null;
  for (const rec of records) if (rec !== self && (best === null || rec.vruntime < best.vruntime)) best = rec;
  return best;
}

function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

/**
 * Orders and runs syscalls, fair across tenants and agents.
 *
 * @example
 * ```ts
 * const sched = new SyscallScheduler({ policy: "fair" });
 * const ok = sched.submit({ pid: 7, tenant: "acme", priority: 20 }, () => dispatcher.dispatch(proc, frame));
 * if (!ok) answer(frame.id, "EAGAIN");
 * ```
 */
export class SyscallScheduler {
  #policy: SchedPolicy;
  readonly #nowMs: () => number;
  readonly #quantumCalls: number;
  readonly #queueCallsMax: number;
  readonly #inflightMax: number;
  readonly #agentInflightMax: number;
  readonly #onJobError?: (error: unknown, pid: number) => void;
  readonly #share: ShareGate;
  readonly #agents = new Map<number, AgentRec>();
  readonly #tenants = new Map<string, TenantRec>();
  /** Tenants with queued jobs, in round-robin rotation order. */
  readonly #active = new Map<string, TenantRec>();
  #tenantVruntimeMin = 0;
  #estimateMs = 0;
  #seq = 0;
  #queued = 0;
  #inflight = 0;
  #served = 0;
  #failed = 0;
  #roundPending = false;

  /** @param options see `SyscallSchedulerOptions` */
  constructor(options: SyscallSchedulerOptions = {}) {
    const policy = options.policy ?? schedPolicyDefault;
    assertSchedPolicy(policy);
    this.#policy = policy;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#quantumCalls = options.quantumCalls ?? quantumCallsDefault;
    this.#queueCallsMax = options.queueCallsMax ?? queueCallsMaxDefault;
    this.#inflightMax = options.inflightMax ?? inflightMaxDefault;
    this.#agentInflightMax = options.agentInflightMax ?? agentInflightMaxDefault;
    this.#onJobError = options.onJobError;
    this.#share = new ShareGate({
      jobsShare: options.backlogShare ?? tenantBacklogJobsShare,
      activeWindowMs: options.shareWindowMs ?? shareActiveWindowMs,
      threadShare: options.threadShare ?? tenantThreadShare,
      periodMs: options.sharePeriodMs ?? sharePeriodMs,
      nowMs: this.#nowMs,
    });
    assertCount("backlogShare", options.backlogShare ?? tenantBacklogJobsShare);
    assertCount("quantumCalls", this.#quantumCalls);
    assertCount("queueCallsMax", this.#queueCallsMax);
    assertCount("inflightMax", this.#inflightMax);
    assertCount("agentInflightMax", this.#agentInflightMax);
  }

  /** The current policy. */
  get policy(): SchedPolicy {
    return this.#policy;
  }

  /**
   * Queue `job` for `entity`. Returns false (and drops nothing) when that
   * pid already has `queueCallsMax` queued jobs: answer the call `EAGAIN`.
   */
  submit(entity: SchedEntity, job: SchedJob): boolean {
    const agent = this.#agentFor(entity);
    if (agent.jobs.length >= this.#queueCallsMax) return false;
    this.#share.saw(entity.tenant);
    agent.jobs.push(job, this.#seq++);
    agent.tenant.queued++;
    this.#queued++;
    if (agent.jobs.length === 1 && agent.inflight < this.#agentInflightMax) this.#activate(agent);
    if (this.#inflight === 0 && this.#queued === 1) {
      this.#serve(agent, 1);
      return true;
    }
    this.#kick();
    return true;
  }

  /**
   * Undefined while `entity`'s tenant may submit more; a promise while it is
   * held (another tenant is active and this one has `backlogShare` jobs
   * queued or running): the caller stops reading that tenant's frames until
   * it resolves, then asks again.
   */
  hold(entity: SchedEntity): Promise<void> | undefined {
    const tenant = this.#tenants.get(entity.tenant);
    return this.#share.hold(entity.tenant, tenant === undefined ? 0 : tenant.queued + tenant.inflight);
  }

  /**
   * Charge `ms` of the supervisor's thread spent for `entity` outside its
   * jobs (decoding its frames) to its virtual runtime and its tenant's share.
   */
  charge(entity: SchedEntity, ms: number): void {
    const agent = this.#agents.get(entity.pid);
    if (agent !== undefined) this.#charge(agent, ms);
    this.#share.charge(entity.tenant, ms);
  }

  /** Switch policy at run time; queued jobs and their per-pid order are kept. */
  setPolicy(policy: SchedPolicy): void {
    assertSchedPolicy(policy);
    if (policy === "fair" && this.#policy !== "fair") this.#evenOut();
    this.#policy = policy;
  }

  /**
   * Drop `pid`'s queued (not started) jobs and forget the pid; returns them,
   * oldest first, so the caller can answer them `ECANCELED`. Jobs already
   * running still settle (and are still charged to the tenant).
   */
  remove(pid: number): SchedJob[] {
    const agent = this.#agents.get(pid);
    if (agent === undefined) return [];
    const jobs = agent.jobs.drain();
    agent.tenant.queued -= jobs.length;
    this.#queued -= jobs.length;
    this.#share.update(agent.tenant.name, agent.tenant.queued + agent.tenant.inflight);
    this.#deactivate(agent);
    agent.detached = true;
    this.#agents.delete(pid);
    agent.tenant.agents.delete(pid);
    this.#dropTenantIfIdle(agent.tenant);
    return jobs;
  }

  /** Per-tenant served calls, queued, vruntime, and the policy. */
  stats(): SchedStats {
    const tenants = [...this.#tenants.values()].map((t) => ({
      tenant: t.name,
      served: t.served,
      queued: t.queued,
      inflight: t.inflight,
      vruntime: t.vruntime,
      agents: t.agents.size,
    }));
    return {
      policy: this.#policy,
      queued: this.#queued,
      inflight: this.#inflight,
      served: this.#served,
      failed: this.#failed,
      holds: this.#share.holds,
      heldTenants: this.#share.heldTenants,
      tenants,
    };
  }

  #agentFor(entity: SchedEntity): AgentRec {
    const weight = weightOf(entity.priority);
    let agent = this.#agents.get(entity.pid);
    if (agent !== undefined) {
      if (agent.tenant.name !== entity.tenant) {
        throw new Error(`pid ${entity.pid} submitted as tenant ${entity.tenant}, queued as ${agent.tenant.name}`);
      }
      agent.priority = entity.priority;
      agent.weight = weight;
      return agent;
    }
    let tenant = this.#tenants.get(entity.tenant);
    if (tenant === undefined) {
      tenant = newTenant(entity.tenant);
      tenant.vruntime = this.#tenantVruntimeMin;
      this.#tenants.set(entity.tenant, tenant);
    }
    agent = newAgent(entity.pid, tenant, entity.priority, weight);
    agent.vruntime = tenant.agentVruntimeMin;
    agent.estimateMs = this.#estimateMs;
    tenant.agents.set(entity.pid, agent);
    this.#agents.set(entity.pid, agent);
    return agent;
  }

  /** Put a newly busy agent (and its tenant) on the run queue, at no less than the current minimum. */
  #activate(agent: AgentRec): void {
    const tenant = agent.tenant;
    const agentMin = minOthers(tenant.agents.values(), agent);
    if (agentMin !== null) tenant.agentVruntimeMin = Math.max(tenant.agentVruntimeMin, agentMin.vruntime);
    agent.vruntime = Math.max(agent.vruntime, tenant.agentVruntimeMin);
    tenant.active.set(agent.pid, agent);
    if (this.#active.has(tenant.name)) return;
    const tenantMin = minOthers(this.#tenants.values(), tenant);
    if (tenantMin !== null) this.#tenantVruntimeMin = Math.max(this.#tenantVruntimeMin, tenantMin.vruntime);
    tenant.vruntime = Math.max(tenant.vruntime, this.#tenantVruntimeMin);
    this.#active.set(tenant.name, tenant);
  }

  #deactivate(agent: AgentRec): void {
    const tenant = agent.tenant;
    tenant.active.delete(agent.pid);
    if (tenant.active.size === 0) this.#active.delete(tenant.name);
  }

  #pick(): AgentRec | null {
    return pickAgent(this.#policy, this.#active);
  }

  #kick(): void {
    if (this.#roundPending || this.#queued === 0 || this.#inflight >= this.#inflightMax) return;
    this.#roundPending = true;
    macrotask(this.#round);
  }

  readonly #round = (): void => {
    this.#roundPending = false;
    if (this.#inflight < this.#inflightMax) {
      const agent = this.#pick();
      if (agent !== null) this.#serve(agent, this.#quantumCalls);
    }
    this.#kick();
  };

  /** Start up to `calls` of `agent`'s jobs, then move it (and its tenant) to the back of the rotation. */
  #serve(agent: AgentRec, calls: number): void {
    const n = Math.min(
      calls,
      agent.jobs.length,
      this.#inflightMax - this.#inflight,
      this.#agentInflightMax - agent.inflight,
    );
    for (let i = 0; i < n; i++) this.#start(agent, agent.jobs.shift());
    const tenant = agent.tenant;
    tenant.active.delete(agent.pid);
    // An agent at its running-jobs bound waits off the run queue until one of its jobs settles.
    if (agent.jobs.length > 0 && agent.inflight < this.#agentInflightMax) tenant.active.set(agent.pid, agent);
    this.#active.delete(tenant.name);
    if (tenant.active.size > 0) this.#active.set(tenant.name, tenant);
  }

  #start(agent: AgentRec, job: SchedJob): void {
    const tenant = agent.tenant;
    tenant.queued--;
    this.#queued--;
    tenant.inflight++;
    agent.inflight++;
    this.#inflight++;
    const estimate = agent.estimateMs;
    this.#charge(agent, estimate);
    const startedMs = this.#nowMs();
    let settled: Promise<unknown>;
    try {
      settled = job();
    } catch (error) {
      settled = Promise.reject(error);
    }
    Promise.resolve(settled).then(
      () => this.#settle(agent, startedMs, estimate, null),
      (error) => this.#settle(agent, startedMs, estimate, error ?? new Error("job rejected")),
    );
  }

  #settle(agent: AgentRec, startedMs: number, estimate: number, error: unknown): void {
    const serviceMs = Math.max(0, this.#nowMs() - startedMs);
    this.#charge(agent, serviceMs - estimate);
    this.#share.charge(agent.tenant.name, serviceMs);
    agent.estimateMs += (serviceMs - agent.estimateMs) * estimateGain;
    this.#estimateMs += (serviceMs - this.#estimateMs) * estimateGain;
    const tenant = agent.tenant;
    tenant.inflight--;
    tenant.served++;
    agent.inflight--;
    this.#inflight--;
    this.#served++;
    this.#share.update(tenant.name, tenant.queued + tenant.inflight);
    if (error !== null) {
      this.#failed++;
      this.#onJobError?.(error, agent.pid);
    }
    if (agent.detached) this.#dropTenantIfIdle(tenant);
    else if (agent.jobs.length > 0 && !tenant.active.has(agent.pid)) this.#activate(agent);
    else this.#dropIfIdle(agent);
    this.#kick();
  }

  #charge(agent: AgentRec, serviceMs: number): void {
    agent.vruntime += serviceMs * weightNice0 / agent.weight;
    agent.tenant.vruntime += serviceMs;
  }

  #dropIfIdle(agent: AgentRec): void {
    if (agent.jobs.length > 0 || agent.inflight > 0 || agent.detached) return;
    const tenant = agent.tenant;
    tenant.agentVruntimeMin = Math.max(tenant.agentVruntimeMin, tenant.agents.size === 1 ? agent.vruntime : 0);
    tenant.agents.delete(agent.pid);
    this.#agents.delete(agent.pid);
    this.#dropTenantIfIdle(tenant);
  }

  #dropTenantIfIdle(tenant: TenantRec): void {
    if (tenant.agents.size > 0 || tenant.inflight > 0) return;
    if (this.#tenants.size === 1) this.#tenantVruntimeMin = Math.max(this.#tenantVruntimeMin, tenant.vruntime);
    this.#tenants.delete(tenant.name);
  }

  /** Start every entity even (used when switching to fair). */
  #evenOut(): void {
    this.#tenantVruntimeMin = 0;
    for (const tenant of this.#tenants.values()) {
      tenant.vruntime = 0;
      tenant.agentVruntimeMin = 0;
      for (const agent of tenant.agents.values()) agent.vruntime = 0;
    }
  }
}
