/**
 * One supervisor per agent: it owns the agent's cell, timers, output and
 * budget, takes every input that can end the agent (`end`), decides the
 * exit once (`decide` in `shutdown.ts`), then cleans up through the
 * orchestrator — always "decide, then clean up".
 *
 * Life: `start` → Creating (workspace, seed files) → Initializing (a cell)
 * → Ready → Running (code sent, wall timer armed) → `end` → Exiting →
 * every resource released in reverse order → Zombie → Reaped.
 *
 * @module
 */

import { setPriority } from "node:os";
import { describeProblem } from "../../lib/mod.ts";
import { KernelError } from "../../kernel/mod.ts";
import { codeBytesMax, termGraceMs } from "../../kernel/mod.ts";
import type { AgentLimits } from "../../kernel/process/mod.ts";
import type { Process, ProcessTable, TraceMode, Usage } from "../../kernel/process/mod.ts";
import type { ResourceOrchestrator } from "../../kernel/resources/mod.ts";
import type { SchedEntity, SyscallScheduler } from "../../kernel/sched/mod.ts";
import { priorityDefault, priorityMax, priorityMin } from "../../kernel/sched/mod.ts";
import type { AnswerLine, Dispatcher } from "../../kernel/syscall/mod.ts";
import type { AgentSlot, InflightAccount } from "../../kernel/tenants/mod.ts";
import type { ObservabilityHub, Subject } from "../../observability/mod.ts";
import { type AgentSpan, agentSpan } from "../../observability/mod.ts";
import type { CellHost } from "../cell/mod.ts";
import type { CellPool } from "../cell/mod.ts";
import { seedDir, seedFile } from "../fs/mod.ts";
import { moduleLexerReady, type Packages } from "../modules/mod.ts";
import { startMessage, withTypeScriptHint } from "./start_message.ts";
import { fsError } from "../fs/mod.ts";
import type { Workspaces } from "../fs/mod.ts";
import { type LimitsRequest, resolveLimits } from "../limits.ts";
import { OutputBuffer } from "../output.ts";
import { compilePolicy } from "../policy/mod.ts";
import type { PolicyLayer } from "../policy_layer.ts";
import { Agent, type AgentResult, type AgentState, type ExitSummary } from "./agent.ts";
import { AgentChannel } from "./channel.ts";
import { ChildRecords } from "./children.ts";
import type { RuntimeEvent } from "./events.ts";
import { decide, type EndInput, type Shutdown } from "./shutdown.ts";
import { WallTimer } from "./wall_timer.ts";

/** Share of one core above which a cell counts as CPU-bound. */
export const busyCpuShare = 0.5;
/** Nice value given to CPU-bound cells. */
export const busyCellNice = 10;

/** What a supervisor needs from the runtime. */
export interface SupervisorDeps {
  table: ProcessTable;
  orchestrator: ResourceOrchestrator;
  workspaces: Workspaces;
  pool: CellPool;
  policy: PolicyLayer;
  /** Packages of the store, for the main module's imports. */
  packages: Packages;
  dispatcher: Dispatcher;
  scheduler: SyscallScheduler;
  obs: ObservabilityHub;
  /** What the scheduler waits for when a call may block (see `AgentChannel`). */
  slice(work: Promise<void>): Promise<void>;
  /** Record an event in the ring and tell listeners. */
  emit(event: RuntimeEvent): void;
  /** Give the new pid its arena quotas (its own and its tenant's). */
  limitArena(proc: Process): void;
  /** Hand pipe descriptors of `from` to the new pid before it starts. */
  inherit(from: number, to: number, fds: number[]): void;
  /** The agent's quota slot is given back (after its last resource). */
  released(slot: AgentSlot): void;
  /** The agent was reaped: forget it. */
  reaped(sup: AgentSupervisor): void;
}

/** What `start` needs beyond the process row. */
export interface StartSpec {
  code: string;
  lang: "js" | "ts";
  /** Host a REPL context (a session) instead of running `code` as the main module. */
  session?: boolean;
  /** Keep the workspace past the agent, or start in one kept before (a session's contexts share theirs). */
  workspace?: { reuse?: string; keep?: boolean };
  files: Record<string, string | Uint8Array>;
  policy: unknown;
  inherit?: { from: number; fds: number[] };
  /** The caller's last check before the code is sent; if it throws, the agent ends without running. */
  beforeRun?: () => void;
}

/** A `beforeRun` refusal: what the caller threw, carried through `start`'s clean-up. */
class StartRefused {
  constructor(readonly cause: unknown) {}
}

/** What {@linkcode checkSpawnRequest} looks at in a spawn request (the runtime's `SpawnRequest` is one). */
export interface SpawnCheck {
  code: string;
  limits?: LimitsRequest;
  /** Scheduling priority 0..39 (default 20). */
  priority?: number;
  /** The agent's own policy document. */
  policy?: unknown;
  /** How its syscalls are recorded (default `sampled`). */
  trace?: TraceMode;
}

/**
 * Check a spawn request and resolve its limits, before the agent exists.
 *
 * @param request the code, limits, priority and policy asked for
 * @returns the agent's resolved limits
 * @throws {KernelError} `EINVAL`/`E2BIG` naming what is wrong
 */
export function checkSpawnRequest(request: SpawnCheck): AgentLimits {
  if (typeof request.code !== "string") throw new KernelError("EINVAL", "code must be a string");
  if (new TextEncoder().encode(request.code).length > codeBytesMax) {
    throw new KernelError("E2BIG", `code larger than ${codeBytesMax} bytes`);
  }
  const limits = resolveLimits(request.limits);
  if (request.trace !== undefined && request.trace !== "sampled" && request.trace !== "full") {
    throw new KernelError("EINVAL", 'trace must be "sampled" or "full"');
  }
  const priority = request.priority ?? priorityDefault;
  if (!Number.isInteger(priority) || priority < priorityMin || priority > priorityMax) {
    throw new KernelError("EINVAL", `priority must be an integer in [${priorityMin}, ${priorityMax}]`);
  }
  // A bad policy is the caller's mistake: refused before it costs the tenant a spawn.
  if (request.policy !== undefined) {
    try {
      compilePolicy(request.policy);
    } catch (err) {
      throw new KernelError("EINVAL", `policy: ${describeProblem(err)}`);
    }
  }
  return limits;
}

/** See the module doc. */
export class AgentSupervisor implements AgentState {
  readonly proc: Process;
  readonly uid: number;
  readonly agent: Agent;
  readonly done: Promise<AgentResult>;
  readonly exited: Promise<ExitSummary>;
  readonly stdout = new OutputBuffer();
  readonly stderr = new OutputBuffer();
  readonly inflight: InflightAccount;
  readonly entity: SchedEntity;
  readonly subject: Subject;
  readonly children = new ChildRecords();
  cell: CellHost | undefined;
  /** Writes to the cell while this agent holds it (a recycled cell drops what it sends after). */
  #send: ((line: AnswerLine) => Promise<void>) | undefined;
  /** The cell said the agent's Worker ended (not a limit, not a kill). */
  #exitedByItself = false;
  /** The main module's source, kept for the TypeScript hint of a syntax error. */
  #main: { code: string; lang: "js" | "ts" } | undefined;
  /** The agent hosts a REPL context (a session's): cells come through `send`. */
  session = false;
  /** Where the running session cell's output goes too (set by `SessionCells` for one cell). */
  capture: { push(fd: 1 | 2, data: string): void } | undefined;
  #d: SupervisorDeps;
  #slot: AgentSlot;
  #span: AgentSpan;
  #shutdown: Shutdown | undefined;
  #resolveDone!: (r: AgentResult) => void;
  #resolveExited!: (r: ExitSummary) => void;
  #cpuSample: { cpuMs: number; atMs: number } | undefined;
  #demoted = false;
  /** Aborted when the agent ends: a start still waiting for its cell gives up. */
  #abort = new AbortController();
  #wall: WallTimer;

  /** @param deps the runtime's parts, @param proc the row, @param slot its tenant quota slot, @param inflight its budget, @param priority 0..39 */
  constructor(
    deps: SupervisorDeps,
    proc: Process,
    ids: { uid: number; slot: AgentSlot; inflight: InflightAccount; priority: number },
  ) {
    this.#d = deps;
    this.proc = proc;
    this.uid = ids.uid;
    this.#slot = ids.slot;
    this.inflight = ids.inflight;
    this.entity = { pid: proc.pid, tenant: proc.tenant, priority: ids.priority };
    this.subject = { pid: proc.pid, uid: ids.uid, tenant: proc.tenant, causality: proc.causality, trace: proc.trace };
    this.#span = agentSpan({ pid: proc.pid, tenant: proc.tenant, causality: proc.causality, parent: proc.parent });
    this.done = new Promise((resolve) => this.#resolveDone = resolve);
    this.exited = new Promise((resolve) => this.#resolveExited = resolve);
    this.agent = new Agent(this);
    this.#wall = new WallTimer(deps.orchestrator, proc.pid, () => this.end({ kind: "wall" }));
  }

  /** Change the wall-clock limit of a running agent (from its start); false unless it is running. */
  setWallMs(wallMs: number): boolean {
    if (this.ending || this.proc.state !== "Running" || !this.#wall.armed) return false;
    this.#d.table.relimit(this.proc, { wallMs });
    this.#wall.rearm(wallMs);
    return true;
  }

  /** Whether the exit is decided. */
  get ending(): boolean {
    return this.#shutdown !== undefined;
  }

  /** The OpenTelemetry span of the agent's whole life. */
  get span(): AgentSpan {
    return this.#span;
  }

  /**
   * Set the agent up and hand its code to a cell. A failure ends the agent
   * (`error` for a bad request or a refusal by `beforeRun`, `crash` otherwise).
   *
   * @throws {KernelError} the request's own error (after ending the agent)
   * @throws what `spec.beforeRun` threw, once every resource of the agent is released
   */
  async start(spec: StartSpec): Promise<void> {
    const d = this.#d;
    const proc = this.proc;
    this.session = spec.session === true;
    if (!this.session) this.#main = { code: spec.code, lang: spec.lang };
    try {
      d.limitArena(proc);
      d.orchestrator.acquire(proc.pid, "memory", proc.pid);
      d.orchestrator.acquire(proc.pid, "ipc", proc.pid);
      if (spec.inherit !== undefined) d.inherit(spec.inherit.from, proc.pid, spec.inherit.fds);
      try {
        d.policy.attach(proc, spec.policy ?? null);
      } catch (err) {
        throw new KernelError("EINVAL", `policy: ${describeProblem(err)}`);
      }
      await moduleLexerReady;
      // Packages resolved and the imports policy applied now: a refused import ends the agent before its code runs.
      const start = await startMessage(proc, spec, d.packages);
      const root = await d.workspaces.create(proc.pid, spec.workspace ?? {});
      if (spec.workspace?.reuse !== undefined) {
        const used = await d.workspaces.usage(root);
        proc.usage.diskBytes = used.bytes;
        proc.usage.files = used.files;
      }
      // Ended while it was made (a kill, shutdown): the cleanup that ran did not know it.
      if (this.ending) return void await d.workspaces.discard(proc.pid, root);
      d.orchestrator.acquire(proc.pid, "workspace", root);
      await this.#seed(root, spec.files);
      if (this.ending) return void await d.workspaces.discard(proc.pid, root);
      d.table.transition(proc, "Initializing");
      const cell = await d.pool.acquire(proc.limits.heapMb, { tenant: proc.tenant, signal: this.#abort.signal });
      if (this.ending) return void await cell.dispose();
      d.orchestrator.acquire(proc.pid, "cell", cell);
      this.#attach(cell);
      if (!d.table.transition(proc, "Ready")) return;
      try {
        spec.beforeRun?.();
      } catch (err) {
        throw new StartRefused(err);
      }
      d.table.transition(proc, "Running");
      this.#wall.arm(proc.limits.wallMs);
      this.#send?.(JSON.stringify(start));
    } catch (err) {
      if (err instanceof StartRefused) {
        this.end({ kind: "start-failed", error: new KernelError("ECANCELED", `refused before start: ${err.cause}`) });
        await this.done;
        throw err.cause;
      }
      // Only the failure that ended the agent is the spawner's answer (not the cancel a kill caused).
      if (this.end({ kind: "start-failed", error: err }) && err instanceof KernelError) throw err;
    }
  }

  /**
   * Something can end the agent: the first input decides, later ones are
   * ignored. Returns whether this input decided.
   */
  end(input: EndInput): boolean {
    if (this.#shutdown !== undefined) return false;
    this.#shutdown = decide(input);
    this.#abort.abort(new KernelError("ECANCELED", "agent ended while it started"));
    void this.#finish(this.#shutdown);
    return true;
  }

  /**
   * `KILL` ends the agent at once (reason `killed`); `TERM` is delivered to
   * its `sys.onSignal` handlers (an agent without one exits), and it is
   * killed after `termGraceMs` if it is still running.
   */
  signal(signal: "TERM" | "KILL", message?: string): boolean {
    if (this.ending) return false;
    if (signal === "KILL") return this.end({ kind: "kill", message });
    void this.#send?.(JSON.stringify({ t: "signal", sig: "TERM" }));
    const grace = setTimeout(
      () => this.end({ kind: "kill", message: message ?? "did not exit after TERM" }),
      termGraceMs,
    );
    this.#d.orchestrator.acquire(this.proc.pid, "timer", grace);
    return true;
  }

  /** Send a control line to the cell (a session's `exec` and `interrupt`); ignored once it is gone. */
  send(message: Record<string, unknown>): void {
    if (!this.ending) void this.#send?.(JSON.stringify(message));
  }

  /** Output the agent wrote (`io.write`): kept bounded, streamed as events, and ended at `outputBytes`. */
  write(fd: 1 | 2, data: string): void {
    if (this.ending) return;
    const proc = this.proc;
    const room = proc.limits.outputBytes - proc.usage.outputBytes;
    const kept = data.length <= room ? data : data.slice(0, Math.max(0, room));
    proc.usage.outputBytes += data.length;
    this.capture?.push(fd, data);
    if (kept.length > 0) {
      (fd === 1 ? this.stdout : this.stderr).push(kept);
      this.#d.emit({ type: "output", pid: proc.pid, tenant: proc.tenant, fd, data: kept });
    }
    if (proc.usage.outputBytes > proc.limits.outputBytes) {
      this.end({ kind: "output", outputBytes: proc.limits.outputBytes });
    }
  }

  /**
   * The agent ended by itself (its code returned or threw), with its cell
   * alive: the cell may host its tenant's next agent. Never after a kill, a
   * limit, a timeout, a TERM or a crash.
   */
  get endedByItself(): boolean {
    const reason = this.#shutdown?.reason;
    return (reason === "exit" || reason === "error") && this.#exitedByItself && this.cell?.exited === false;
  }

  /** A control frame of the cell's trusted main thread. */
  control(ctl: string, body: Record<string, unknown>): void {
    const usage = this.proc.usage;
    if (ctl === "usage" && typeof body.cpuMs === "number") this.#demoteIfBusy(body.cpuMs);
    if (typeof body.cpuMs === "number") usage.cpuMs = Math.max(usage.cpuMs, body.cpuMs);
    if (typeof body.rssMb === "number") usage.peakRssMb = Math.max(usage.peakRssMb, body.rssMb);
    if (ctl === "exit") {
      this.#exitedByItself = body.signal !== "TERM";
      this.end({
        kind: "exit",
        code: typeof body.code === "number" && Number.isInteger(body.code) ? body.code : 1,
        result: typeof body.result === "string" ? body.result : undefined,
        error: typeof body.error === "string" ? withTypeScriptHint(body.error, this.#main) : undefined,
        term: body.signal === "TERM",
      });
    } else if (ctl === "limit") {
      const limit = body.reason === "cpu" ? "cpu" : body.reason === "output" ? "output" : "memory";
      this.end({ kind: "limit", limit, outputBytes: this.proc.limits.outputBytes });
    }
  }

  /** Output the channel could not take (budget full): counted and marked in the stream, never silent. */
  dropped(fd: unknown, chars: number): void {
    this.proc.usage.outputBytes += chars;
    (fd === 2 ? this.stderr : this.stdout).noteLost(chars);
  }

  /** The agent's usage now, with its output kept and dropped counted. */
  usage(): Usage {
    const usage = this.proc.usage;
    usage.outputKept = this.stdout.kept + this.stderr.kept;
    usage.outputDropped = Math.max(0, usage.outputBytes - usage.outputKept);
    return { ...usage };
  }

  #attach(cell: CellHost): void {
    const d = this.#d;
    this.cell = cell;
    this.#send = cell.sender();
    const channel = new AgentChannel({
      proc: this.proc,
      entity: this.entity,
      account: this.inflight,
      dispatcher: d.dispatcher,
      scheduler: d.scheduler,
      slice: d.slice,
      send: (line) => this.#send?.(line) ?? Promise.resolve(),
      control: (ctl, body) => this.control(ctl, body),
      badFrame: (code, message) =>
        d.emit({
          type: "syscall",
          pid: this.proc.pid,
          tenant: this.proc.tenant,
          call: "(frame)",
          args: null,
          errno: code,
          latencyUs: 0,
          bytes: 0,
          message,
        }),
      dropped: (call) => {
        const args = call.args as { fd?: unknown; data?: unknown } | null;
        this.dropped(args?.fd, typeof args?.data === "string" ? args.data.length : 0);
      },
    });
    cell.onFrame = (frame) => channel.onFrame(frame);
    cell.readHold = () => channel.hold();
    cell.readSpent = (ms) => d.scheduler.charge(this.entity, ms);
    // Output the agent sent before its cell ended is served before the end is.
    cell.ended.then(async (status) => {
      await channel.drained();
      this.end({ kind: "cell-ended", status });
    });
  }

  /**
   * Seed the workspace: the mount points of its volumes (directories, charged
   * like any), then the caller-provided files — trusted input, but still
   * confined and quota-checked; a file under a mount point is refused (it
   * would be hidden by the volume).
   */
  async #seed(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
    const mounts = this.#d.workspaces.mounts(this.proc.pid);
    for (const mount of mounts) await seedDir(root, this.proc, mount.path);
    for (const [path, content] of Object.entries(files)) {
      try {
        const under = await this.#d.workspaces.resolve(this.proc.pid, path, "write").then((r) => r.mount);
        if (under !== undefined) {
          throw new KernelError("EINVAL", `is under the mount of volume ${under.volume.name} at ${under.path}`);
        }
        const data = typeof content === "string" ? new TextEncoder().encode(content) : content;
        await seedFile(root, this.proc, path, data);
      } catch (err) {
        const { code, message } = err instanceof KernelError ? err : fsError(err);
        throw new KernelError(code, `files[${JSON.stringify(path.slice(0, 64))}]: ${message}`);
      }
    }
  }

  /**
   * CPU-bound agents compete for the cores in the OS scheduler: a cell that
   * burns more than `busyCpuShare` of a core between two usage reports is
   * reniced to `busyCellNice` (once). Deno's `setPriority` takes a pid, so
   * only the cell's main thread is reniced (see docs/security.md). Needs
   * `--allow-sys=setPriority`; without it this is a no-op.
   */
  #demoteIfBusy(cpuMs: number): void {
    const now = performance.now();
    const last = this.#cpuSample;
    this.#cpuSample = { cpuMs, atMs: now };
    if (last === undefined || this.#demoted || this.cell === undefined) return;
    if ((cpuMs - last.cpuMs) / Math.max(1, now - last.atMs) < busyCpuShare) return;
    this.#demoted = true;
    try {
      setPriority(this.cell.osPid, busyCellNice);
    } catch { /* no permission: the OS decides alone */ }
  }

  async #finish(shutdown: Shutdown): Promise<void> {
    const d = this.#d;
    const proc = this.proc;
    proc.exit = { reason: shutdown.reason, exitCode: shutdown.exitCode, message: shutdown.message };
    d.table.transition(proc, "Exiting");
    proc.usage.wallMs = Math.round(performance.now() - proc.startedAtMs);
    const summary = this.#summary(shutdown);
    const { reason, exitCode, message } = shutdown;
    // The exit event goes out with the decision, before `exited` resolves: the API stores it in the same
    // transaction as the final record (api/traces.ts), so an answer that reports the end finds it durable.
    d.emit({ type: "exit", pid: proc.pid, tenant: proc.tenant, reason, exitCode, message });
    this.#resolveExited(summary);
    const cleanup = await d.orchestrator.cleanup(proc.pid);
    const released = Object.values(cleanup.types);
    d.obs.cleanup(
      this.subject,
      released.reduce((n, t) => n + t.count, 0),
      released.reduce((n, t) => n + t.bytes, 0),
      cleanup.errors,
    );
    d.released(this.#slot);
    d.table.transition(proc, "Zombie");
    this.#span.end(reason, exitCode, message);
    const result: AgentResult = { ...this.#summary(shutdown), state: proc.state, cleanup };
    d.reaped(this);
    d.table.transition(proc, "Reaped");
    this.#resolveDone(result);
  }

  #summary(shutdown: Shutdown): ExitSummary {
    const proc = this.proc;
    return {
      pid: proc.pid,
      tenant: proc.tenant,
      reason: shutdown.reason,
      exitCode: shutdown.exitCode,
      message: shutdown.message,
      result: shutdown.result,
      stdout: this.stdout.text(),
      stderr: this.stderr.text(),
      usage: this.usage(),
    };
  }
}
