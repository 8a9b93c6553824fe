/**
 * The public face of one agent: a read-only handle on what its supervisor
 * owns (the process row, output, budget, cell), and the result shapes.
 *
 * @module
 */

import type { ProcState } from "../../kernel/process/mod.ts";
import type { ExitReason } from "../../kernel/process/mod.ts";
import type { Process, Usage } from "../../kernel/process/mod.ts";
import type { CleanupReport } from "../../kernel/resources/mod.ts";
import type { InflightAccount } from "../../kernel/tenants/mod.ts";
import type { Subject } from "../../observability/mod.ts";
import type { CellHost } from "../cell/mod.ts";
import type { OutputBuffer } from "../output.ts";

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

/** What is known the moment the exit is decided (before its resources are released). */
export type ExitSummary = Omit<AgentResult, "cleanup" | "state">;

/** What a handle reads; owned and written by the agent's supervisor only. */
export interface AgentState {
  readonly proc: Process;
  readonly uid: number;
  readonly done: Promise<AgentResult>;
  readonly exited: Promise<ExitSummary>;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  readonly inflight: InflightAccount;
  readonly ending: boolean;
  readonly cell: CellHost | undefined;
  readonly subject: Subject;
  usage(): Usage;
}

/** A live (or finished) agent, as callers of the runtime see it. */
export class Agent {
  readonly #state: AgentState;

  /** @internal made by the agent's supervisor */
  constructor(state: AgentState) {
    this.#state = state;
  }

  /** The pid (recycled after the agent is reaped). */
  get pid(): number {
    return this.#state.proc.pid;
  }

  /** Unique per spawn, never recycled. */
  get uid(): number {
    return this.#state.uid;
  }

  /** The process row (state, limits, usage). */
  get proc(): Process {
    return this.#state.proc;
  }

  /** Resolves once the agent ended and every resource it held was released. */
  get done(): Promise<AgentResult> {
    return this.#state.done;
  }

  /** Resolves as soon as the exit is decided, before its resources are released. */
  get exited(): Promise<ExitSummary> {
    return this.#state.exited;
  }

  /** Captured stdout (bounded: head and tail kept). */
  get stdout(): OutputBuffer {
    return this.#state.stdout;
  }

  /** Captured stderr (bounded: head and tail kept). */
  get stderr(): OutputBuffer {
    return this.#state.stderr;
  }

  /** Bytes of syscall requests and results the supervisor holds for the agent. */
  get inflight(): InflightAccount {
    return this.#state.inflight;
  }

  /** Usage now, with the output kept and dropped counted. */
  get usage(): Usage {
    return this.#state.usage();
  }

  /** Whether the exit is decided (the agent is ending or ended). */
  get exitStarted(): boolean {
    return this.#state.ending;
  }

  /** Who the agent's events are about (pid, uid, tenant, causality). */
  get subject(): Subject {
    return this.#state.subject;
  }

  /** The cell hosting the agent, once assigned. */
  get cell(): CellHost | undefined {
    return this.#state.cell;
  }
}
