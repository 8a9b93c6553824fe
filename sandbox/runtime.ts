/**
 * The runtime: the kernel's facade. Its constructor only wires the parts —
 * process table, orchestrator, dispatcher and syscall table, scheduler,
 * limit enforcer and tenant table, policy layer, arena and IPC, cell pool,
 * workspaces, observability — and its methods are the whole surface the
 * HTTP API and the CLI drive: `spawn`, `run`, `kill`, `signal`, `get`,
 * `agents`, `subscribe`, `stats`, `start`, `close`.
 *
 * Each agent has one supervisor (`sandbox/agent/supervisor.ts`) that owns
 * its cell, timers, output and exit decision; the cell channel and the
 * child-agent host are modules of their own (`sandbox/agent/`).
 *
 * @module
 */

import { KernelError } from "../kernel/mod.ts";
import { Ipc } from "../kernel/ipc/mod.ts";
import { Arena, arenaBytesDefault, arenaBytesPerAgentMax } from "../kernel/memory/mod.ts";
import { isLive, type Process, ProcessTable } from "../kernel/process/mod.ts";
import { ResourceOrchestrator } from "../kernel/resources/mod.ts";
import { priorityDefault, SyscallScheduler } from "../kernel/sched/mod.ts";
import { Dispatcher } from "../kernel/syscall/mod.ts";
import { type AgentSlot, KernelEnforcer, TenantTable } from "../kernel/tenants/mod.ts";
import { ObservabilityHub, type Subject } from "../observability/mod.ts";
import type { Agent, AgentResult } from "./agent/mod.ts";
import { checkSpawnRequest } from "./agent/mod.ts";
import type { RuntimeEvent } from "./agent/mod.ts";
import { AgentSupervisor, type SupervisorDeps } from "./agent/mod.ts";
import { CellHost, leanCellEntry } from "./cell/mod.ts";
import { CellPool } from "./cell/mod.ts";
import { releaseMounts, takeMounts, Workspaces } from "./fs/mod.ts";
import { blockingSliceMs, resolveLimits } from "./limits.ts";
import { Approvals } from "./approvals.ts";
import { PolicyLayer } from "./policy_layer.ts";
import { egressFields } from "./policy_egress.ts";
import { registerCleanups } from "./cleanups.ts";
import { sandboxSyscalls } from "./syscalls.ts";
import { SessionCells } from "./session/mod.ts";
import { Packages } from "./modules/mod.ts";
import { PackageStore } from "./packages/mod.ts";
import type { RuntimeOptions, RuntimeStats, SpawnRequest } from "./runtime_options.ts";

export type { Agent, AgentResult, ExitSummary } from "./agent/mod.ts";
export type { RuntimeEvent } from "./agent/mod.ts";
export { exitCodeFor, exitCodeTerm } from "./agent/mod.ts";
export { busyCellNice, busyCpuShare } from "./agent/mod.ts";

export type { RuntimeOptions, RuntimeStats, SpawnRequest } from "./runtime_options.ts";

/** The kernel plus cells: spawn, kill, observe agents. */
export class Runtime {
  readonly table = new ProcessTable();
  readonly orchestrator = new ResourceOrchestrator();
  readonly workspaces: Workspaces;
  readonly pool: CellPool;
  readonly dispatcher: Dispatcher;
  /** Cells of session agents (`spawn({session: true})`). */
  readonly sessions: SessionCells;
  /** Packages of the store in agents' module graphs (resolution, policy, `import` events). */
  readonly packages: Packages;
  readonly policy: PolicyLayer;
  /** Calls an `ask` rule matched, waiting for a person (`sandbox/approvals.ts`). */
  readonly approvals: Approvals;
  readonly arena: Arena;
  readonly ipc: Ipc;
  readonly scheduler: SyscallScheduler;
  readonly obs: ObservabilityHub;
  /** Tenant-wide quotas and what each tenant holds. */
  readonly tenants: TenantTable;
  /** The limits every frame and spawn is checked against. */
  readonly limits: KernelEnforcer;
  #uids = 0;
  #slice: Promise<void> | undefined;
  #agents = new Map<number, AgentSupervisor>();
  #listeners = new Set<(event: RuntimeEvent) => void>();
  #dataDir: string;
  #leanCell: boolean;
  #deps: SupervisorDeps;
  #closing = false;
  /** Spawns whose `start` has not returned: `close` waits for them (a late cell or workspace is released there). */
  #starting = new Set<Promise<void>>();
  #staleDirsRemoved = { cells: 0, workspaces: 0 };

  /** @param options data directory, pool size, extra syscalls */
  constructor(options: RuntimeOptions) {
    this.#dataDir = options.dataDir;
    this.#leanCell = options.leanCell ?? true;
    this.workspaces = new Workspaces(options.dataDir);
    this.policy = new PolicyLayer((pid) => this.workspaces.root(pid));
    this.policy.fieldsFor("net.fetch", egressFields);
    this.approvals = new Approvals({
      waitMs: options.approvalWaitMs,
      listener: (approval) => this.#emit({ type: "approval", pid: approval.pid, tenant: approval.tenant, approval }),
    });
    this.policy.useApprovals(this.approvals);
    this.arena = new Arena({ capacityBytes: options.arenaBytes ?? arenaBytesDefault });
    this.ipc = new Ipc({ arena: this.arena });
    this.scheduler = new SyscallScheduler({ policy: options.schedPolicy, shareWindowMs: options.schedShareWindowMs });
    this.obs = new ObservabilityHub({ enabled: options.observability ?? true, firstSeq: options.eventSeqFirst });
    this.tenants = new TenantTable();
    for (const [tenant, quotas] of Object.entries(options.tenantQuotas ?? {})) this.tenants.setQuotas(tenant, quotas);
    this.limits = new KernelEnforcer(this.tenants, { clockPerTurn: true });
    this.pool = new CellPool({
      size: options.poolSize ?? 2,
      heapMb: resolveLimits().heapMb,
      scratchDir: `${options.dataDir}/cells`,
      startsMax: options.cellStartsMax,
      startWaitMsMax: options.cellStartWaitMsMax,
      reuse: options.cellReuse,
    });
    this.sessions = new SessionCells((pid) => this.#agents.get(pid));
    this.packages = new Packages({
      store: options.packages === undefined ? defaultPackageStore(options.dataDir) : options.packages,
      decide: (proc, req) => this.policy.decideImport(proc, req),
      imported: (proc, pkg, specifier) =>
        this.#emit({
          type: "import",
          pid: proc.pid,
          tenant: proc.tenant,
          name: pkg.name,
          version: pkg.version,
          specifier,
          sha256: pkg.sha256,
        }),
    });
    this.dispatcher = this.#makeDispatcher(options);
    this.#deps = this.#supervisorDeps();
    registerCleanups(this.orchestrator, {
      arena: this.arena,
      workspaces: this.workspaces,
      ipc: this.ipc,
      policy: this.policy,
      approvals: this.approvals,
      dispatcher: this.dispatcher,
      scheduler: this.scheduler,
      get: (pid) => this.#agents.get(pid),
      pool: this.pool,
    });
    this.table.onTransition((proc, from, to) => {
      // An agent on its way out is asked nothing more: its waiting calls are answered now, not at cleanup
      // (the exit waits for them).
      if (!isLive(to)) this.approvals.dropPid(proc.pid);
      this.#emit({ type: "lifecycle", pid: proc.pid, tenant: proc.tenant, from, to });
    });
  }

  /**
   * Create directories, remove what an earlier server left in them (cells'
   * scratch directories, workspaces of agents that are not live: a crash or
   * a kill leaves them), and fill the warm pool.
   */
  async start(): Promise<void> {
    const cells = `${this.#dataDir}/cells`;
    await Deno.mkdir(cells, { recursive: true });
    this.#staleDirsRemoved.cells += await CellHost.removeStale(cells);
    this.#staleDirsRemoved.workspaces += await this.workspaces.removeStale();
    if (this.#leanCell) {
      try {
        this.pool.useEntry(await leanCellEntry(`${this.#dataDir}/cell-entry`));
      } catch (err) {
        console.error(`agentos: cells start from TypeScript (the JavaScript bundle failed: ${err})`);
      }
    }
    await this.pool.fill();
  }

  /** Subscribe to runtime events; returns the unsubscribe function. */
  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The agent with `pid`, while the runtime still tracks it. */
  get(pid: number): Agent | undefined {
    return this.#agents.get(pid)?.agent;
  }

  /** Agents currently tracked (live or finishing). */
  agents(): Agent[] {
    return [...this.#agents.values()].map((s) => s.agent);
  }

  /** Counters of the kernel's tables. */
  stats(): RuntimeStats {
    return {
      agents: this.#agents.size,
      processes: this.table.size,
      illegalTransitions: this.table.illegalTransitions,
      tenants: this.tenants.stats(),
      sched: this.scheduler.stats(),
      staleDirsRemoved: { ...this.#staleDirsRemoved },
    };
  }

  /**
   * Start an agent; resolves once its code has been handed to its cell.
   *
   * @throws {KernelError} `EINVAL`/`E2BIG` for a bad request, `EAGAIN` for a full table or a tenant quota
   */
  async spawn(request: SpawnRequest): Promise<Agent> {
    let slot = request.slot;
    let proc: Process;
    let priority: number;
    let mounts: ReturnType<typeof takeMounts> = [];
    try {
      if (this.#closing) throw new KernelError("ECANCELED", "the server is shutting down");
      const limits = checkSpawnRequest(request);
      priority = request.priority ?? priorityDefault;
      const tenant = request.tenant ?? "default";
      slot ??= this.limits.admitAgent(tenant, limits.rssMb);
      mounts = takeMounts(this.workspaces.volumes, tenant, request.volumes ?? []);
      proc = this.table.create({
        tenant,
        parent: request.parent,
        causality: request.causality,
        capabilities: request.capabilities ?? [],
        limits,
        nowMs: performance.now(),
        trace: request.trace,
      });
    } catch (err) {
      releaseMounts(mounts);
      slot?.release();
      throw err;
    }
    this.workspaces.setMounts(proc.pid, mounts);
    const sup = new AgentSupervisor(this.#deps, proc, {
      uid: ++this.#uids,
      slot,
      inflight: this.limits.account(proc),
      priority,
    });
    request.onCreated?.(sup.agent);
    this.#agents.set(proc.pid, sup);
    if (mounts.length > 0) {
      void sup.done.finally(() => {
        this.workspaces.dropMounts(proc.pid, mounts);
        releaseMounts(mounts);
      });
    }
    const started = sup.start({
      code: request.code,
      lang: request.lang ?? "js",
      session: request.session,
      workspace: request.workspace,
      files: request.files ?? {},
      policy: request.policy,
      inherit: request.inherit,
      beforeRun: request.beforeRun && (() => request.beforeRun!(sup.agent)),
    });
    this.#starting.add(started);
    try {
      await started;
    } finally {
      this.#starting.delete(started);
    }
    return sup.agent;
  }

  /** Spawn and wait for the result. */
  async run(request: SpawnRequest): Promise<AgentResult> {
    return await (await this.spawn(request)).done;
  }

  /** End an agent with `reason` (default `killed`). Idempotent; unknown pids are ignored and return false. */
  kill(pid: number, reason: KillReason = "killed", message?: string): boolean {
    return this.#agents.get(pid)?.end({ kind: "kill", reason, message }) ?? false;
  }

  /**
   * Change a running agent's wall-clock limit, from its start (a shorter one already past ends it at once, reason
   * `timeout`). The caller checks the tenant's ceiling.
   *
   * @returns false for an unknown pid or an agent that is not running (starting, ending, ended)
   * @example
   * ```ts
   * runtime.setWallMs(agent.pid, 120_000);
   * ```
   */
  setWallMs(pid: number, wallMs: number): boolean {
    return this.#agents.get(pid)?.setWallMs(wallMs) ?? false;
  }

  /**
   * Signal an agent. `KILL` ends it at once (reason `killed`). `TERM` is
   * delivered to its `sys.onSignal` handlers (an agent without one exits),
   * and it is killed after `termGraceMs` if it is still running.
   */
  signal(pid: number, signal: "TERM" | "KILL", message?: string): boolean {
    return this.#agents.get(pid)?.signal(signal, message) ?? false;
  }

  /**
   * Refuse new spawns, kill every agent (reason `killed`) — those still
   * starting too —, wait for their cleanup and for every start in flight
   * (a workspace or cell it still made is released), drain the pool.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const agents = [...this.#agents.values()];
    for (const sup of agents) sup.end({ kind: "kill", message: "server shutting down" });
    await Promise.all(agents.map((s) => s.done));
    await Promise.allSettled([...this.#starting]);
    await this.pool.close();
    await CellHost.drain();
    this.obs.close();
  }

  #makeDispatcher(options: RuntimeOptions): Dispatcher {
    const table = sandboxSyscalls({
      get: (pid) => this.#agents.get(pid),
      workspaces: this.workspaces,
      ipc: this.ipc,
      orchestrator: this.orchestrator,
      policy: this.policy,
      packages: this.packages,
      spawnChild: (parent, r) =>
        this.spawn({
          code: r.code,
          lang: r.lang,
          tenant: parent.tenant,
          parent: parent.pid,
          causality: parent.causality,
          capabilities: r.capabilities,
          limits: r.limits,
          policy: r.policy,
          inherit: r.fds.length > 0 ? { from: parent.pid, fds: r.fds } : undefined,
        }),
      resolve: options.resolve,
      extra: [...this.sessions.syscalls(), ...(options.syscalls ?? [])],
    });
    this.obs.knownCalls(table.names());
    return new Dispatcher({
      table,
      fastPath: options.fastPath,
      limits: this.limits,
      confinement: {
        checkPath: async (proc, raw, access) => (await this.workspaces.resolve(proc.pid, raw, access)).checked,
        checkPolicy: (proc, call, args, paths) => this.policy.check(proc, call, args, paths),
        stableAllow: (proc, call) => this.policy.stableAllow(proc, call),
        policyEpoch: () => this.policy.epoch,
      },
      observer: {
        syscall: (proc, call, args, errno, latencyUs, bytes, message, atMs) => {
          // The hot path: primitives into the ring; event objects only when someone listens.
          const sup = this.#agents.get(proc.pid), at = performance.timeOrigin + atMs; // dispatcher clock → epoch ms
          this.obs.syscall(sup?.subject ?? this.#subjectOf(proc), call, errno, latencyUs, bytes, args, at);
          sup?.span.syscall(call, errno, latencyUs);
          if (this.#listeners.size === 0) return;
          const pid = proc.pid, tenant = proc.tenant;
          this.#notify({ type: "syscall", pid, tenant, call, args, errno, latencyUs, bytes, message });
        },
        denial: (proc, call, layer, errno, message) =>
          this.#emit({ type: "denial", pid: proc.pid, tenant: proc.tenant, call, layer, errno, message }),
      },
    });
  }

  #supervisorDeps(): SupervisorDeps {
    return {
      table: this.table,
      orchestrator: this.orchestrator,
      workspaces: this.workspaces,
      pool: this.pool,
      policy: this.policy,
      packages: this.packages,
      dispatcher: this.dispatcher,
      scheduler: this.scheduler,
      obs: this.obs,
      slice: (work) => this.#serviceSlice(work),
      emit: (event) => this.#emit(event),
      limitArena: (proc) => {
        this.arena.quotas.setPid(proc.pid, arenaBytesPerAgentMax);
        this.arena.quotas.setTenant(proc.tenant, this.tenants.quotas(proc.tenant).arenaBytesMax);
      },
      inherit: (from, to, fds) => this.ipc.inherit(from, to, fds),
      released: (slot) => this.#releaseSlot(slot),
      reaped: (sup) => {
        if (this.#agents.get(sup.proc.pid) === sup) this.#agents.delete(sup.proc.pid);
      },
    };
  }

  /** Give an agent's quota slot back; forget its tenant's arena quota once the tenant holds nothing. */
  #releaseSlot(slot: AgentSlot): void {
    slot.release();
    const tenant = slot.tenant;
    if (this.tenants.usage(tenant).agents === 0 && this.arena.usageOfTenant(tenant) === 0) {
      this.arena.quotas.clearTenant(tenant);
    }
  }

  /**
   * What the scheduler waits for when a call may block: the call, or the
   * end of the current `blockingSliceMs` window, whichever comes first. A
   * blocked call keeps running and answers when it is done, but stops
   * holding a scheduler slot and being charged as service time. One timer
   * serves all calls of a window.
   */
  #serviceSlice(work: Promise<void>): Promise<void> {
    if (this.#slice === undefined) {
      this.#slice = new Promise<void>((resolve) => {
        setTimeout(() => {
          this.#slice = undefined;
          resolve();
        }, blockingSliceMs);
      });
    }
    return Promise.race([work, this.#slice]);
  }

  #subjectOf(proc: Process): Subject {
    return this.#agents.get(proc.pid)?.subject ??
      { pid: proc.pid, uid: 0, tenant: proc.tenant, causality: proc.causality };
  }

  /** Record an event in the ring and tell listeners. */
  #emit(event: RuntimeEvent): void {
    const proc = this.table.get(event.pid);
    const s = proc ? this.#subjectOf(proc) : { pid: event.pid, uid: 0, tenant: event.tenant, causality: event.pid };
    switch (event.type) {
      case "lifecycle":
        this.obs.lifecycle(s, event.from, event.to);
        break;
      case "denial":
        this.obs.denial(s, event.call, event.layer, event.errno, event.message);
        break;
      case "output":
        this.obs.output(s, event.fd, event.data);
        break;
      case "exit":
        this.obs.exit(s, event.reason, event.exitCode, event.message);
        break;
      case "import":
        this.obs.imported(s, `${event.name}@${event.version}`, event.specifier);
        break;
      case "syscall":
        this.obs.syscall(s, event.call, event.errno, event.latencyUs, event.bytes, event.args);
        break;
      case "approval": {
        const { tenant: _t, pid: _p, state, ...detail } = event.approval;
        this.obs.approval(s, state, JSON.stringify(detail));
        break;
      }
      default: {
        const never: never = event;
        throw new Error(`unknown event ${never}`);
      }
    }
    this.#notify(event);
  }

  #notify(event: RuntimeEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch { /* a listener never breaks the kernel */ }
    }
  }
}

/** The store a runtime reads when it is given none: `<dataDir>/packages`. */
function defaultPackageStore(dataDir: string): PackageStore {
  return new PackageStore(PackageStore.defaultDir(dataDir));
}

/** Why `kill` may end an agent. */
type KillReason = "killed" | "timeout" | "cpu" | "memory" | "output" | "crash" | "error";
