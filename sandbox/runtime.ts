/**
 * The runtime: the kernel (process table, orchestrator, dispatcher) wired to
 * real cells and the confined file system. This is the object the HTTP API
 * and the CLI drive.
 *
 * An agent's whole life: `spawn` → Creating (row, workspace) → Initializing
 * (cell from the pool) → Ready → Running (code sent, wall timer armed) →
 * Exiting (first exit reason wins; the cell is killed) → cleanup of every
 * resource in reverse order → Zombie → Reaped.
 *
 * @module
 */

import { setPriority } from "node:os";
import { type Errno, KernelError } from "../kernel/errno.ts";
import { codeBytesMax, jsonDepthMax, resultBytesMax, termGraceMs } from "../kernel/limits.ts";
import type { ExitReason, ProcState } from "../kernel/process/lifecycle.ts";
import { type Capability, type Process, ProcessTable, type Usage } from "../kernel/process/table.ts";
import { type CleanupReport, ResourceOrchestrator } from "../kernel/resources/orchestrator.ts";
import { builtinSyscalls } from "../kernel/syscall/builtin.ts";
import { type DenialLayer, Dispatcher } from "../kernel/syscall/dispatch.ts";
import { type CallFrame, jsonTooDeep } from "../kernel/syscall/frame.ts";
import { type SyscallDef, SyscallTable } from "../kernel/syscall/table.ts";
import { CellHost } from "./cell/cell_host.ts";
import { CellPool } from "./cell/pool.ts";
import { cellExitCpu, cellExitHeapOom, cellExitRss, type StartMessage } from "./cell/protocol.ts";
import { seedFile } from "./fs/disk.ts";
import { fsError, fsSyscalls } from "./fs/syscalls.ts";
import { Workspaces } from "./fs/workspace.ts";
import { type LimitsRequest, resolveLimits } from "./limits.ts";
import { confinePath } from "./path/confine.ts";
import { egressFields, PolicyLayer } from "./policy_layer.ts";
import { compilePolicy } from "./policy/mod.ts";
import { type ChildExit, type ProcHost, procSyscalls } from "./proc_syscalls.ts";
import { Arena } from "../kernel/memory/mod.ts";
import { Ipc } from "../kernel/ipc/mod.ts";
import { ObservabilityHub, type Subject } from "../observability/hub.ts";
import { type AgentSpan, agentSpan } from "../observability/otel.ts";
import {
  priorityDefault,
  priorityMax,
  priorityMin,
  type SchedEntity,
  type SchedPolicy,
  SyscallScheduler,
} from "../kernel/sched/mod.ts";
import { netSyscalls, type Resolver } from "./net/mod.ts";
import { AgentChannel } from "./channel.ts";
import { OutputBuffer } from "./output.ts";
import {
  type AgentSlot,
  type InflightAccount,
  TenantLedger,
  type TenantQuotas,
  tenantQuotasDefault,
} from "../kernel/tenants/mod.ts";

/**
 * Resource types, in registration order: cleaned up in reverse — children
 * first, then timers, IPC descriptors, the cell, the workspace on disk, and
 * arena memory last. The agent's slot in its tenant's quotas is given back
 * after all of them (an agent counts against its tenant until everything
 * it held is gone).
 */
export const resourceTypes = ["memory", "workspace", "cell", "ipc", "timer", "child"] as const;
/** Share of one core above which a cell counts as CPU-bound. */
export const busyCpuShare = 0.5;
/** Nice value given to CPU-bound cells. */
export const busyCellNice = 10;
export { batchSliceCalls } from "./channel.ts";
/** Longest a blocked syscall counts as service time for the scheduler, ms. */
export const blockingSliceMs = 5;
/** Default size of the kernel arena that holds all IPC data, bytes. */
export const arenaBytesDefault = 64 * 1024 * 1024;
/** Arena bytes one agent may hold (pipes, queues, segments); its tenant's `arenaBytesMax` bounds them all. */
export const arenaBytesPerAgentMax = 16 * 1024 * 1024;
/** Finished children a parent keeps for `proc.wait` before the oldest is dropped. */
export const childExitsMax = 256;

/** What a caller asks for. */
export interface SpawnRequest {
  code: string;
  lang?: "js" | "ts";
  tenant?: string;
  capabilities?: Capability[];
  limits?: LimitsRequest;
  /** Files to seed the workspace with: workspace-relative path → UTF-8 text. */
  files?: Record<string, string>;
  /** The agent's own policy document, intersected with its tenant's. */
  policy?: unknown;
  /** Pipe descriptors of the parent the child inherits before it starts. */
  inherit?: { from: number; fds: number[] };
  /** Scheduling priority 0..39 (lower = more weight; default 20). */
  priority?: number;
  parent?: number;
  causality?: number;
  /** Called synchronously once the agent exists, before any event of its start is read. */
  onCreated?: (agent: Agent) => void;
  /**
   * The agent's slot in its tenant's quotas, if the caller admitted it
   * already (the HTTP API does, to answer 429 before queueing). Otherwise
   * `spawn` admits it. From the call on, the runtime releases it on every path.
   */
  slot?: AgentSlot;
}

/** How an agent ended, with everything it produced. */
export interface AgentResult {
  pid: number;
  tenant: string;
  state: ProcState;
  reason: ExitReason;
  exitCode: number;
  message?: string;
  result: unknown;
  stdout: string;
  stderr: string;
  usage: Usage;
  cleanup: CleanupReport;
}

/** What the runtime reports to listeners (trace, event stream). */
export type RuntimeEvent =
  | { type: "lifecycle"; pid: number; tenant: string; from: ProcState; to: ProcState }
  | {
    type: "syscall";
    pid: number;
    tenant: string;
    call: string;
    args: unknown;
    errno: Errno | null;
    latencyUs: number;
    bytes: number;
    message: string | null;
  }
  | { type: "denial"; pid: number; tenant: string; call: string; layer: DenialLayer; errno: Errno; message: string }
  | { type: "output"; pid: number; tenant: string; fd: 1 | 2; data: string }
  | { type: "exit"; pid: number; tenant: string; reason: ExitReason; exitCode: number; message?: string };

/** Runtime options. */
export interface RuntimeOptions {
  dataDir: string;
  /** Warm cells kept ready (default 2). */
  poolSize?: number;
  /** Extra syscall rows (IPC, net, ...). */
  syscalls?: SyscallDef[];
  /** Use the dispatcher's hot-syscall fast path (default true). */
  fastPath?: boolean;
  /** DNS for `net.fetch` (default: the system resolver). Tests inject one. */
  resolve?: Resolver;
  /** Size of the kernel arena, bytes (default {@link arenaBytesDefault}). */
  arenaBytes?: number;
  /** Record events, sample, detect anomalies (default true; off only to measure the cost). */
  observability?: boolean;
  /** Initial syscall scheduling policy (default `fair`). */
  schedPolicy?: SchedPolicy;
  /** The quotas of a tenant, enforced for all its agents and their children (default `tenantQuotasDefault`). */
  tenantQuotas?: (tenant: string) => Partial<TenantQuotas>;
}

/** Exit status reported for each non-`exit` reason. */
export const exitCodeFor: Record<Exclude<ExitReason, "exit">, number> = {
  error: 1,
  killed: 137,
  timeout: 124,
  cpu: 152,
  memory: 137,
  output: 153,
  crash: 134,
};

/** A live (or finished) agent. */
export class Agent {
  readonly proc: Process;
  readonly done: Promise<AgentResult>;
  /**
   * Resolves as soon as the agent's exit is known — before its resources are
   * released (that follows at once; `done` waits for it). What a caller that
   * only needs the answer waits for.
   */
  readonly exited: Promise<Omit<AgentResult, "cleanup" | "state">>;
  resolveExited!: (r: Omit<AgentResult, "cleanup" | "state">) => void;
  cell?: CellHost;
  readonly stdout = new OutputBuffer();
  readonly stderr = new OutputBuffer();
  /** Serves the frames of the agent's cell (set once the cell is assigned). */
  channel?: AgentChannel;
  /** Bytes of syscall requests and results the supervisor holds for the agent. */
  inflight!: InflightAccount;
  /** The agent's share of its tenant's quotas, given back after its last resource. */
  slot!: AgentSlot;
  exitStarted = false;
  resolve!: (r: AgentResult) => void;
  result: unknown = null;
  /** Live children's pids. */
  children = new Set<number>();
  /** Finished children not yet waited for, oldest first. */
  childExits = new Map<number, ChildExit>();
  /** Scheduling identity (pid, tenant, priority). */
  entity!: SchedEntity;
  /** Last CPU reading of the cell, for the busy-cell demotion. */
  cpuSample?: { cpuMs: number; atMs: number };
  /** Whether the cell was reniced for burning CPU. */
  demoted = false;
  /** Observability identity (pid, unique uid, tenant, causality). */
  subject!: Subject;
  /** The OpenTelemetry span of the agent's whole life. */
  span: AgentSpan = { syscall() {}, end() {} };

  /** @param proc the process row */
  constructor(proc: Process) {
    this.proc = proc;
    this.done = new Promise((resolve) => this.resolve = resolve);
    this.exited = new Promise((resolve) => this.resolveExited = resolve);
  }

  /** The pid. */
  get pid(): number {
    return this.proc.pid;
  }
}

/** The kernel plus cells: spawn, kill, observe agents. */
export class Runtime {
  readonly table = new ProcessTable();
  readonly orchestrator = new ResourceOrchestrator();
  readonly workspaces: Workspaces;
  readonly pool: CellPool;
  readonly dispatcher: Dispatcher;
  readonly policy: PolicyLayer;
  readonly arena: Arena;
  readonly ipc: Ipc;
  readonly scheduler: SyscallScheduler;
  readonly obs: ObservabilityHub;
  /** Tenant-wide quotas and what each tenant holds. */
  readonly tenants: TenantLedger;
  #uids = 0;
  #slice: Promise<void> | undefined;
  #agents = new Map<number, Agent>();
  #listeners = new Set<(event: RuntimeEvent) => void>();
  #dataDir: string;

  /** @param options data directory, pool size, extra syscalls */
  constructor(options: RuntimeOptions) {
    this.#dataDir = options.dataDir;
    this.workspaces = new Workspaces(options.dataDir);
    this.policy = new PolicyLayer((pid) => this.workspaces.root(pid));
    this.policy.fieldsFor("net.fetch", egressFields);
    this.arena = new Arena({ capacityBytes: options.arenaBytes ?? arenaBytesDefault });
    this.ipc = new Ipc({ arena: this.arena });
    this.scheduler = new SyscallScheduler({ policy: options.schedPolicy });
    this.obs = new ObservabilityHub({ enabled: options.observability ?? true });
    const quotas = options.tenantQuotas;
    this.tenants = new TenantLedger({
      quotas: quotas === undefined ? undefined : (t) => ({ ...tenantQuotasDefault, ...quotas(t) }),
    });
    this.pool = new CellPool({
      size: options.poolSize ?? 2,
      heapMb: resolveLimits().heapMb,
      scratchDir: `${options.dataDir}/cells`,
    });
    const table = new SyscallTable([
      ...builtinSyscalls({ write: (proc, fd, data) => this.#write(proc, fd, data), nowMs: Date.now }),
      ...fsSyscalls(this.workspaces),
      ...this.ipc.syscalls(),
      ...procSyscalls(this.#procHost()),
      ...netSyscalls({
        decide: (proc, req) => this.policy.decideEgress(proc, req),
        allowCidrs: (proc) => this.policy.allowCidrs(proc),
        resolve: options.resolve,
      }),
      ...(options.syscalls ?? []),
    ]);
    this.obs.knownCalls(table.names());
    this.dispatcher = new Dispatcher({
      table,
      fastPath: options.fastPath,
      confinement: {
        checkPath: (proc, raw, access) => confinePath(this.workspaces.root(proc.pid), raw, access),
        admitCall: (proc, cost) =>
          this.tenants.takeSyscalls(proc.tenant, cost)
            ? null
            : { errno: "EAGAIN", layer: "quota", message: "tenant syscall rate exceeded" },
        checkPolicy: (proc, call, args, paths) => this.policy.check(proc, call, args, paths),
        stableAllow: (proc, call) => this.policy.stableAllow(proc, call),
        policyEpoch: () => this.policy.epoch,
      },
      observer: {
        syscall: (proc, call, args, errno, latencyUs, bytes, message) => {
          // The hot path: primitives into the ring; event objects only when someone listens.
          this.obs.syscall(this.#subject(proc), call, errno, latencyUs, bytes, args);
          this.#agents.get(proc.pid)?.span.syscall(call, errno, latencyUs);
          if (this.#listeners.size === 0) return;
          this.#notify({
            type: "syscall",
            pid: proc.pid,
            tenant: proc.tenant,
            call,
            args,
            errno,
            latencyUs,
            bytes,
            message,
          });
        },
        denial: (proc, call, layer, errno, message) =>
          this.#emit({ type: "denial", pid: proc.pid, tenant: proc.tenant, call, layer, errno, message }),
      },
    });
    this.orchestrator.registerType("memory", (pid) => {
      const freed = this.arena.freeAllOf(pid);
      this.arena.setQuota("pid", pid, undefined);
      return freed.bytes;
    });
    this.orchestrator.registerType("workspace", (pid) => this.workspaces.remove(pid));
    this.orchestrator.registerType("cell", async (_pid, cell: CellHost) => {
      await cell.dispose();
      return 0;
    });
    this.orchestrator.registerType("ipc", (pid) => this.ipc.releaseAll(pid).bytes);
    this.orchestrator.registerType("timer", (_pid, timer: number) => {
      clearTimeout(timer);
      return 0;
    });
    this.orchestrator.registerType("child", async (pid, child: number) => {
      const agent = this.#agents.get(child);
      if (agent === undefined) return 0;
      this.kill(child, "killed", `parent ${pid} exited`);
      await agent.done;
      return 0;
    });
    this.orchestrator.assertCoverage(resourceTypes);
    this.table.onTransition((proc, from, to) =>
      this.#emit({ type: "lifecycle", pid: proc.pid, tenant: proc.tenant, from, to })
    );
  }

  /** Create directories and fill the warm pool. */
  async start(): Promise<void> {
    await Deno.mkdir(`${this.#dataDir}/cells`, { recursive: true });
    await this.pool.fill();
  }

  /** Subscribe to runtime events; returns the unsubscribe function. */
  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The agent with `pid`, while the runtime still tracks it. */
  get(pid: number): Agent | undefined {
    return this.#agents.get(pid);
  }

  /** Agents currently tracked (live or finishing). */
  agents(): Agent[] {
    return [...this.#agents.values()];
  }

  /**
   * Start an agent; resolves once its code has been handed to its cell.
   *
   * @throws {KernelError} `EINVAL`/`E2BIG` for a bad request, `EAGAIN` when the table is full
   */
  async spawn(request: SpawnRequest): Promise<Agent> {
    let slot = request.slot;
    let proc: Process;
    let priority: number;
    try {
      if (typeof request.code !== "string") throw new KernelError("EINVAL", "code must be a string");
      if (new TextEncoder().encode(request.code).length > codeBytesMax) {
        throw new KernelError("E2BIG", `code larger than ${codeBytesMax} bytes`);
      }
      const limits = resolveLimits(request.limits);
      priority = request.priority ?? priorityDefault;
      if (!Number.isInteger(priority) || priority < priorityMin || priority > priorityMax) {
        throw new KernelError("EINVAL", `priority must be an integer in [${priorityMin}, ${priorityMax}]`);
      }
      // A bad policy is the caller's mistake: refused before it costs the tenant a spawn.
      if (request.policy !== undefined) checkPolicy(request.policy);
      const tenant = request.tenant ?? "default";
      slot ??= this.tenants.admit(tenant, limits.rssMb);
      proc = this.table.create({
        tenant,
        parent: request.parent,
        causality: request.causality,
        capabilities: request.capabilities ?? [],
        limits,
        nowMs: performance.now(),
      });
    } catch (err) {
      slot?.release();
      throw err;
    }
    const limits = proc.limits;
    const agent = new Agent(proc);
    agent.slot = slot;
    agent.entity = { pid: proc.pid, tenant: proc.tenant, priority };
    agent.subject = { pid: proc.pid, uid: ++this.#uids, tenant: proc.tenant, causality: proc.causality };
    agent.span = agentSpan({ pid: proc.pid, tenant: proc.tenant, causality: proc.causality, parent: proc.parent });
    agent.inflight = this.tenants.account(proc.tenant);
    request.onCreated?.(agent);
    this.#agents.set(proc.pid, agent);
    try {
      this.arena.setQuota("pid", proc.pid, arenaBytesPerAgentMax);
      this.arena.setQuota("tenant", proc.tenant, this.tenants.quotas(proc.tenant).arenaBytesMax);
      this.orchestrator.acquire(proc.pid, "memory", proc.pid);
      this.orchestrator.acquire(proc.pid, "ipc", proc.pid);
      if (request.inherit !== undefined) this.ipc.inherit(request.inherit.from, proc.pid, request.inherit.fds);
      try {
        this.policy.attach(proc, request.policy ?? null);
      } catch (err) {
        throw new KernelError("EINVAL", `policy: ${policyProblem(err)}`);
      }
      const root = await this.workspaces.create(proc.pid);
      this.orchestrator.acquire(proc.pid, "workspace", root);
      await this.#seed(agent, request.files ?? {});
      this.table.transition(proc, "Initializing");
      const cell = await this.pool.acquire(limits.heapMb);
      this.orchestrator.acquire(proc.pid, "cell", cell);
      agent.cell = cell;
      agent.channel = this.#channel(agent, cell);
      const channel = agent.channel;
      cell.onFrame = (frame) => channel.onFrame(frame);
      // Output the agent sent before its cell ended is served before the end is.
      cell.ended.then(async (status) => {
        await channel.drained();
        this.#onCellEnded(agent, status);
      });
      if (!this.table.transition(proc, "Ready")) return agent;
      this.table.transition(proc, "Running");
      const timer = setTimeout(() => this.kill(proc.pid, "timeout"), limits.wallMs);
      this.orchestrator.acquire(proc.pid, "timer", timer);
      const start: StartMessage = {
        t: "start",
        code: request.code,
        lang: request.lang ?? "js",
        cpuMs: limits.cpuMs,
        rssMb: limits.rssMb,
        outputBytes: limits.outputBytes,
        info: { pid: proc.pid, parent: proc.parent, tenant: proc.tenant },
      };
      cell.send(JSON.stringify(start));
    } catch (err) {
      const message = err instanceof KernelError ? err.message : `cell failed to start: ${String(err)}`;
      void this.#finish(agent, err instanceof KernelError ? "error" : "crash", undefined, message);
      if (err instanceof KernelError) throw err;
    }
    return agent;
  }

  /** Spawn and wait for the result. */
  async run(request: SpawnRequest): Promise<AgentResult> {
    return await (await this.spawn(request)).done;
  }

  /**
   * End an agent with `reason` (default `killed`). Idempotent; unknown pids
   * are ignored and return false.
   */
  kill(pid: number, reason: ExitReason = "killed", message?: string): boolean {
    const agent = this.#agents.get(pid);
    if (agent === undefined || agent.exitStarted) return false;
    void this.#finish(agent, reason, undefined, message);
    return true;
  }

  /**
   * Signal an agent. `KILL` ends it at once (reason `killed`). `TERM` is
   * delivered to its `sys.onSignal` handlers (an agent without one exits),
   * and it is killed after `termGraceMs` if it is still running.
   */
  signal(pid: number, signal: "TERM" | "KILL", message?: string): boolean {
    const agent = this.#agents.get(pid);
    if (agent === undefined || agent.exitStarted) return false;
    if (signal === "KILL") return this.kill(pid, "killed", message);
    agent.cell?.send(JSON.stringify({ t: "signal", sig: "TERM" }));
    const timer = setTimeout(() => this.kill(pid, "killed", message ?? "did not exit after TERM"), termGraceMs);
    this.orchestrator.acquire(pid, "timer", timer);
    return true;
  }

  #procHost(): ProcHost {
    return {
      spawnChild: async (parent, request) => {
        // The tenant's quotas (agents, RSS, spawn rate) are taken in `spawn`, for children as for API agents.
        const parentAgent = this.#agents.get(parent.pid);
        if (parentAgent === undefined || parentAgent.exitStarted) {
          throw new KernelError("ECANCELED", "parent is exiting");
        }
        const child = await this.spawn({
          code: request.code,
          lang: request.lang,
          tenant: parent.tenant,
          parent: parent.pid,
          causality: parent.causality,
          capabilities: request.capabilities,
          limits: request.limits,
          policy: request.policy,
          inherit: request.fds.length > 0 ? { from: parent.pid, fds: request.fds } : undefined,
        });
        parentAgent.children.add(child.pid);
        const held = this.orchestrator.acquire(parent.pid, "child", child.pid);
        void child.done.then((r) => {
          parentAgent.children.delete(child.pid);
          this.orchestrator.release(parent.pid, held);
          if (parentAgent.exitStarted) return;
          parentAgent.childExits.set(r.pid, {
            pid: r.pid,
            reason: r.reason,
            exitCode: r.exitCode,
            result: r.result,
            message: r.message ?? null,
          });
          if (parentAgent.childExits.size > childExitsMax) {
            parentAgent.childExits.delete(parentAgent.childExits.keys().next().value!);
          }
        });
        return child.pid;
      },
      children: (parent) => {
        const agent = this.#agents.get(parent.pid);
        if (agent === undefined) return [];
        const live = [...agent.children].map((pid) => ({
          pid,
          state: this.table.get(pid)?.state ?? "Exiting",
          reason: this.table.get(pid)?.exit?.reason ?? null,
        }));
        const done = [...agent.childExits.values()].map((e) => ({
          pid: e.pid,
          state: "Zombie" as const,
          reason: e.reason,
        }));
        return [...live, ...done];
      },
      waitChild: (parent, pid, timeoutMs) => {
        const agent = this.#agents.get(parent.pid);
        if (agent === undefined) return undefined;
        const finished = agent.childExits.get(pid);
        if (finished !== undefined) {
          agent.childExits.delete(pid);
          return Promise.resolve(finished);
        }
        const child = agent.children.has(pid) ? this.#agents.get(pid) : undefined;
        if (child === undefined) return undefined;
        return waitWithTimeout(child.done, timeoutMs).then((r) => {
          agent.childExits.delete(pid);
          return { pid: r.pid, reason: r.reason, exitCode: r.exitCode, result: r.result, message: r.message ?? null };
        });
      },
      signalChild: (parent, pid, signal) => {
        const agent = this.#agents.get(parent.pid);
        if (agent === undefined || !agent.children.has(pid)) return false;
        return this.signal(pid, signal, `${signal} from parent ${parent.pid}`);
      },
    };
  }

  /** Kill every agent (reason `killed`), wait for their cleanup, drain the pool. */
  async close(): Promise<void> {
    const agents = this.agents();
    for (const agent of agents) this.kill(agent.pid, "killed", "server shutting down");
    await Promise.all(agents.map((a) => a.done));
    await this.pool.close();
    await CellHost.drain();
    this.obs.close();
  }

  /** Seed the workspace with caller-provided files: trusted input, but still confined and quota-checked. */
  async #seed(agent: Agent, files: Record<string, string>): Promise<void> {
    const root = this.workspaces.root(agent.pid);
    const proc = agent.proc;
    for (const [path, text] of Object.entries(files)) {
      const name = JSON.stringify(path.slice(0, 64));
      try {
        await seedFile(root, proc, path, new TextEncoder().encode(text));
      } catch (err) {
        const { code, message } = err instanceof KernelError ? err : fsError(err);
        throw new KernelError(code, `files[${name}]: ${message}`);
      }
    }
  }

  /** The channel that serves `agent`'s frames from `cell`. */
  #channel(agent: Agent, cell: CellHost): AgentChannel {
    return new AgentChannel({
      proc: agent.proc,
      entity: agent.entity,
      account: agent.inflight,
      dispatcher: this.dispatcher,
      scheduler: this.scheduler,
      slice: (work) => this.#serviceSlice(work),
      send: (line) => cell.send(line),
      control: (ctl, body) => this.#onControl(agent, ctl, body),
      dropped: (call) => this.#droppedWrite(agent, call),
      badFrame: (code, message) =>
        this.#emit({
          type: "syscall",
          pid: agent.pid,
          tenant: agent.proc.tenant,
          call: "(frame)",
          args: null,
          errno: code,
          latencyUs: 0,
          bytes: 0,
          message,
        }),
    });
  }

  #onControl(agent: Agent, ctl: string, body: Record<string, unknown>): void {
    const usage = agent.proc.usage;
    if (ctl === "usage" && typeof body.cpuMs === "number") this.#demoteIfBusy(agent, body.cpuMs);
    if (typeof body.cpuMs === "number") usage.cpuMs = Math.max(usage.cpuMs, body.cpuMs);
    if (typeof body.rssMb === "number") usage.peakRssMb = Math.max(usage.peakRssMb, body.rssMb);
    if (ctl === "exit") {
      const code = typeof body.code === "number" && Number.isInteger(body.code) ? body.code : 1;
      if (body.signal === "TERM") {
        void this.#finish(agent, "killed", exitCodeFor.killed, "exited on TERM");
        return;
      }
      if (typeof body.error === "string") {
        void this.#finish(agent, "error", code === 0 ? 1 : code, body.error);
        return;
      }
      if (typeof body.result === "string") {
        if (body.result.length > resultBytesMax) {
          void this.#finish(agent, "error", 1, `result larger than ${resultBytesMax} bytes`);
          return;
        }
        if (jsonTooDeep(body.result, jsonDepthMax)) {
          void this.#finish(agent, "error", 1, `result nested deeper than ${jsonDepthMax} levels`);
          return;
        }
        try {
          agent.result = JSON.parse(body.result);
        } catch {
          agent.result = null;
        }
      }
      void this.#finish(agent, "exit", code);
    } else if (ctl === "limit") {
      const reason = body.reason === "cpu" ? "cpu" : body.reason === "output" ? "output" : "memory";
      const message = reason === "output"
        ? `output over ${agent.proc.limits.outputBytes} bytes`
        : `${reason} limit exceeded`;
      void this.#finish(agent, reason, undefined, message);
    }
  }

  #onCellEnded(agent: Agent, status: Deno.CommandStatus): void {
    if (agent.exitStarted) return;
    if (status.code === cellExitCpu) return void this.#finish(agent, "cpu", undefined, "cpu limit exceeded");
    if (status.code === cellExitRss || status.code === cellExitHeapOom) {
      return void this.#finish(
        agent,
        "memory",
        undefined,
        status.code === cellExitHeapOom ? "heap limit exceeded" : "rss limit exceeded",
      );
    }
    const how = status.signal ? `signal ${status.signal}` : `status ${status.code}`;
    void this.#finish(agent, "crash", undefined, `cell ended unexpectedly (${how})`);
  }

  /**
   * The kernel's scheduler orders syscalls, but CPU-bound agents compete for
   * the cores in the OS scheduler. A cell that burns more than
   * `busyCpuShare` of a core between two usage reports is reniced to
   * `busyCellNice` (once; an unprivileged supervisor could not undo it), so
   * agents that mostly wait on syscalls keep their latency next to a flood.
   * Needs `--allow-sys=setPriority`; without it this is a no-op.
   */
  #demoteIfBusy(agent: Agent, cpuMs: number): void {
    const now = performance.now();
    const last = agent.cpuSample;
    agent.cpuSample = { cpuMs, atMs: now };
    if (last === undefined || agent.demoted || agent.cell === undefined) return;
    const share = (cpuMs - last.cpuMs) / Math.max(1, now - last.atMs);
    if (share < busyCpuShare) return;
    agent.demoted = true;
    try {
      setPriority(agent.cell.osPid, busyCellNice);
    } catch { /* no permission: the OS decides alone */ }
  }

  /** Output the channel could not take (budget or queue full): counted and marked in the stream, never silent. */
  #droppedWrite(agent: Agent, call: CallFrame): void {
    const args = call.args as { fd?: unknown; data?: unknown } | null;
    const chars = typeof args?.data === "string" ? args.data.length : 0;
    agent.proc.usage.outputDropped += chars;
    (args?.fd === 2 ? agent.stderr : agent.stdout).noteLost(chars);
  }

  #write(proc: Process, fd: 1 | 2, data: string): void {
    const agent = this.#agents.get(proc.pid);
    if (agent === undefined || agent.exitStarted) return;
    const room = proc.limits.outputBytes - proc.usage.outputBytes;
    const kept = data.length <= room ? data : data.slice(0, Math.max(0, room));
    proc.usage.outputBytes += data.length;
    if (kept.length > 0) {
      (fd === 1 ? agent.stdout : agent.stderr).push(kept);
      this.#emit({ type: "output", pid: proc.pid, tenant: proc.tenant, fd, data: kept });
    }
    if (proc.usage.outputBytes > proc.limits.outputBytes) {
      void this.#finish(agent, "output", undefined, `output over ${proc.limits.outputBytes} bytes`);
    }
  }

  async #finish(agent: Agent, reason: ExitReason, exitCode?: number, message?: string): Promise<void> {
    if (agent.exitStarted) return;
    agent.exitStarted = true;
    const proc = agent.proc;
    const code = reason === "exit" ? exitCode ?? 0 : exitCode ?? exitCodeFor[reason];
    proc.exit = { reason, exitCode: code, message };
    this.table.transition(proc, "Exiting");
    proc.usage.wallMs = Math.round(performance.now() - proc.startedAtMs);
    agent.resolveExited({
      pid: proc.pid,
      tenant: proc.tenant,
      reason,
      exitCode: code,
      message,
      result: agent.result,
      stdout: agent.stdout.text(),
      stderr: agent.stderr.text(),
      usage: { ...proc.usage },
    });
    const cleanup = await this.orchestrator.cleanup(proc.pid);
    const released = Object.values(cleanup.types);
    this.obs.cleanup(
      agent.subject,
      released.reduce((n, t) => n + t.count, 0),
      released.reduce((n, t) => n + t.bytes, 0),
      cleanup.errors,
    );
    this.#releaseSlot(agent.slot);
    this.policy.dropPid(proc.pid);
    this.dispatcher.forget(proc.pid);
    this.scheduler.remove(proc.pid);
    this.table.transition(proc, "Zombie");
    this.#emit({ type: "exit", pid: proc.pid, tenant: proc.tenant, reason, exitCode: code, message });
    agent.span.end(reason, code, message);
    const result: AgentResult = {
      pid: proc.pid,
      tenant: proc.tenant,
      state: proc.state,
      reason,
      exitCode: code,
      message,
      result: agent.result,
      stdout: agent.stdout.text(),
      stderr: agent.stderr.text(),
      usage: { ...proc.usage },
      cleanup,
    };
    this.#agents.delete(proc.pid);
    this.table.transition(proc, "Reaped");
    agent.resolve(result);
  }

  /** Give an agent's quota slot back; forget its tenant's arena quota once the tenant holds nothing. */
  #releaseSlot(slot: AgentSlot): void {
    slot.release();
    const tenant = slot.tenant;
    if (this.tenants.usage(tenant).agents === 0 && this.arena.usage("tenant", tenant) === 0) {
      this.arena.setQuota("tenant", tenant, undefined);
    }
  }

  /**
   * What the scheduler waits for: the call, or the end of the current
   * `blockingSliceMs` window, whichever comes first. A call that blocks (a
   * pipe read, a queue receive, `proc.wait`, `net.fetch`) keeps running and
   * answers when it is done, but it stops holding a scheduler slot and stops
   * being charged as service time — so blocked calls can neither exhaust the
   * scheduler for other tenants nor wreck their own agent's share. One timer
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

  /** The observability subject of a process (pid, unique uid, tenant, causality). */
  #subject(proc: Process): Subject {
    return this.#agents.get(proc.pid)?.subject ??
      { pid: proc.pid, uid: 0, tenant: proc.tenant, causality: proc.causality };
  }

  /** Record an event in the ring and tell listeners. */
  #emit(event: RuntimeEvent): void {
    const proc = this.table.get(event.pid);
    const subject = proc ? this.#subject(proc) : { pid: event.pid, uid: 0, tenant: event.tenant, causality: event.pid };
    switch (event.type) {
      case "lifecycle":
        this.obs.lifecycle(subject, event.from, event.to);
        break;
      case "denial":
        this.obs.denial(subject, event.call, event.layer, event.errno, event.message);
        break;
      case "output":
        this.obs.output(subject, event.fd, event.data);
        break;
      case "exit":
        this.obs.exit(subject, event.reason, event.exitCode, event.message);
        break;
      case "syscall":
        this.obs.syscall(subject, event.call, event.errno, event.latencyUs, event.bytes, event.args);
        break;
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

function waitWithTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KernelError("ETIMEDOUT", "proc.wait: timed out")), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** @throws {KernelError} `EINVAL` naming what is wrong with a policy document */
function checkPolicy(doc: unknown): void {
  try {
    compilePolicy(doc);
  } catch (err) {
    throw new KernelError("EINVAL", `policy: ${policyProblem(err)}`);
  }
}

function policyProblem(err: unknown): string {
  const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (issues?.[0]) return `${issues[0].path.map(String).join(".") || "document"}: ${issues[0].message}`;
  return err instanceof Error ? err.message : String(err);
}
