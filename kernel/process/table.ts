/**
 * The process table: pid allocation with recycling, records, and guarded
 * state transitions (illegal ones are rejected and counted).
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import { pidMax, processesMax } from "../limits.ts";
import { canTransition, type ExitReason, isLive, type ProcState } from "./lifecycle.ts";

/** Capabilities an agent may hold; fixed at spawn, may only shrink. */
export type Capability = "fs.read" | "fs.write" | "net.fetch" | "ipc" | "proc.spawn";

/** All capabilities. */
export const capabilities: readonly Capability[] = [
  "fs.read",
  "fs.write",
  "net.fetch",
  "ipc",
  "proc.spawn",
];

/** Resolved limits of one agent (every field has its unit last). */
export interface AgentLimits {
  heapMb: number;
  rssMb: number;
  wallMs: number;
  cpuMs: number;
  outputBytes: number;
  diskBytes: number;
  filesMax: number;
  syscallsPerSec: number;
}

/** What an agent has consumed so far. */
export interface Usage {
  cpuMs: number;
  wallMs: number;
  peakRssMb: number;
  syscalls: number;
  denials: number;
  errors: number;
  /** Characters of output the agent wrote (stdout and stderr). */
  outputBytes: number;
  /** Of those, the characters kept in its captured output (`stdout` + `stderr`). */
  outputKept: number;
  /** Of those, the characters not kept: past `outputBytes`, the dropped middle of a long stream, or over the in-flight budget. */
  outputDropped: number;
  diskBytes: number;
  /** Files and directories in the workspace. */
  files: number;
}

/** How an agent ended. */
export interface ExitInfo {
  reason: ExitReason;
  exitCode: number;
  message?: string;
}

/** One row of the process table. */
export interface Process {
  readonly pid: number;
  /** Unique per spawn and never recycled (a pid is): 1, 2, 3, … per table. */
  readonly uid: number;
  readonly tenant: string;
  readonly parent: number;
  readonly causality: number;
  readonly capabilities: ReadonlySet<Capability>;
  readonly limits: Readonly<AgentLimits>;
  readonly startedAtMs: number;
  /** How its syscalls are recorded (fixed at spawn). */
  readonly trace: TraceMode;
  state: ProcState;
  usage: Usage;
  exit?: ExitInfo;
}

/**
 * How the observability hub records an agent's syscalls: `sampled` (the
 * default: the adaptive sampler decides; errors and denials always kept) or
 * `full` (every call, charged to the agent: `traceFullCallCost`).
 */
export type TraceMode = "sampled" | "full";

/** What spawning needs to create a row. */
export interface ProcessSpec {
  tenant: string;
  /** @default "sampled" */
  trace?: TraceMode;
  parent?: number;
  causality?: number;
  capabilities: Iterable<Capability>;
  limits: AgentLimits;
  nowMs: number;
}

/** Lifecycle change listener. */
export type TransitionListener = (proc: Process, from: ProcState, to: ProcState) => void;

/**
 * Holds every process from creation until it is reaped.
 *
 * @example
 * ```ts
 * const table = new ProcessTable();
 * const proc = table.create({ tenant: "t", capabilities: [], limits, nowMs: 0 });
 * table.transition(proc, "Initializing");
 * ```
 */
export class ProcessTable {
  #procs = new Map<number, Process>();
  #free: number[] = [];
  #next = 1;
  #uids = 0;
  #illegal = 0;
  #listeners: TransitionListener[] = [];
  #pidMax: number;

  /** @param options.pidMax highest pid before recycling (default {@link pidMax}) */
  constructor(options: { pidMax?: number } = {}) {
    this.#pidMax = options.pidMax ?? pidMax;
  }

  /** Number of transitions rejected as illegal since start. */
  get illegalTransitions(): number {
    return this.#illegal;
  }

  /** Rows currently in the table (live and zombie). */
  get size(): number {
    return this.#procs.size;
  }

  /** Subscribe to every legal transition. */
  onTransition(listener: TransitionListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Replace some limits of a row (a running agent's wall-clock time, extended or shortened); the supervisor
   * re-arms what enforces them.
   *
   * @example
   * ```ts
   * table.relimit(proc, { wallMs: 60_000 });
   * ```
   */
  relimit(proc: Process, patch: Partial<AgentLimits>): void {
    (proc as { limits: Readonly<AgentLimits> }).limits = Object.freeze({ ...proc.limits, ...patch });
  }

  /**
   * Create a row in state `Creating` with a recycled or fresh pid.
   *
   * @throws {KernelError} `EAGAIN` when the table is full.
   */
  create(spec: ProcessSpec): Process {
    if (this.#procs.size >= processesMax) {
      throw new KernelError("EAGAIN", "process table full");
    }
    const pid = this.#allocPid();
    const proc: Process = {
      pid,
      uid: ++this.#uids,
      tenant: spec.tenant,
      parent: spec.parent ?? 0,
      causality: spec.causality ?? pid,
      capabilities: new Set(spec.capabilities),
      limits: Object.freeze({ ...spec.limits }),
      startedAtMs: spec.nowMs,
      trace: spec.trace ?? "sampled",
      state: "Creating",
      usage: {
        cpuMs: 0,
        wallMs: 0,
        peakRssMb: 0,
        syscalls: 0,
        denials: 0,
        errors: 0,
        outputBytes: 0,
        outputKept: 0,
        outputDropped: 0,
        diskBytes: 0,
        files: 0,
      },
    };
    this.#procs.set(pid, proc);
    return proc;
  }

  /** The row for `pid`, if any (zombies included, reaped rows excluded). */
  get(pid: number): Process | undefined {
    return this.#procs.get(pid);
  }

  /** All rows, optionally only those in `state`. */
  list(state?: ProcState): Process[] {
    const rows = [...this.#procs.values()];
    return state === undefined ? rows : rows.filter((p) => p.state === state);
  }

  /** Live rows (those that still hold a cell). */
  live(): Process[] {
    return this.list().filter((p) => isLive(p.state));
  }

  /**
   * Move `proc` to `to`. Returns false (and counts) if the transition is not
   * in the table; the row is left unchanged.
   */
  transition(proc: Process, to: ProcState): boolean {
    const from = proc.state;
    if (!canTransition(from, to)) {
      this.#illegal++;
      return false;
    }
    proc.state = to;
    if (to === "Reaped") {
      this.#procs.delete(proc.pid);
      this.#free.push(proc.pid);
    }
    for (const listener of this.#listeners) listener(proc, from, to);
    return true;
  }

  #allocPid(): number {
    if (this.#next <= this.#pidMax) return this.#next++;
    // Recycle the lowest free pid so numbers stay small and predictable.
    this.#free.sort((a, b) => a - b);
    const pid = this.#free.shift();
    if (pid === undefined) throw new KernelError("EAGAIN", "no free pid");
    return pid;
  }
}
