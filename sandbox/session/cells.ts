/**
 * The kernel side of sessions: a session is an agent whose Worker hosts a
 * REPL context (prelude/repl.ts) instead of running a main module. A cell
 * goes to the Worker as a control line (`{"t":"exec"}`, through the cell's
 * trusted main thread, which also sets the cell's CPU budget); its answer
 * comes back as the `session.result` syscall — checked, accounted and
 * recorded like any call — and the output the agent wrote meanwhile is the
 * cell's stdout and stderr.
 *
 * A cell over its time is interrupted: a Worker whose event loop is free
 * (the cell awaits something) answers at once and keeps its state; one
 * that is busy (`while (true) {}`) cannot be stopped inside its process,
 * so the agent is killed and the answer says the state was lost.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../../kernel/mod.ts";
import { sessionCellOutputCharsMax, sessionInterruptGraceMs } from "../../kernel/mod.ts";
import { defineSyscall, type SyscallDef } from "../../kernel/syscall/mod.ts";
import type { AgentSupervisor } from "../agent/mod.ts";
import { CodeError, replCell } from "../code/mod.ts";

/** A cell as the Worker runs it: a classic script from the REPL transform. */
export interface CellRequest {
  script: string;
  /** The cell's file name in stack traces, e.g. `cell3.ts`. */
  name: string;
  timeoutMs: number;
  /** CPU the cell may use, ms (the session's total is the agent's `cpuMs`). */
  cpuMs: number;
  /** Called with each piece of output as the agent writes it (a streaming answer). */
  onOutput?: (fd: 1 | 2, data: string) => void;
}

/** A cell as its user wrote it. */
export interface CellSource extends Omit<CellRequest, "script" | "cpuMs"> {
  code: string;
  lang: "js" | "ts";
  /** Default: `timeoutMs`. */
  cpuMs?: number;
}

/** The outcome of a cell that did not run. */
const notRun = { result: null, text: "", stdout: "", stderr: "", outputTruncated: false, interrupted: null };

/** A cell's error, as the answer carries it. */
export interface CellError {
  name: string;
  message: string;
  stack: string;
}

/** How a cell ended. */
export interface CellOutcome {
  /** The value of the cell's last expression as JSON (`null` when none or not serialisable). */
  result: unknown;
  /** The value as the REPL shows it (`Deno.inspect`), `""` for `undefined`. */
  text: string;
  stdout: string;
  stderr: string;
  /** Output past `sessionCellOutputCharsMax` was not kept in this answer (the agent's stream has it). */
  outputTruncated: boolean;
  error: CellError | null;
  /** The cell ran over its time (`timeout`) or was interrupted. */
  interrupted: "timeout" | "interrupt" | null;
  /** The session's context is gone (its agent ended): the next cell starts from nothing. */
  stateLost: boolean;
}

/** Output of one cell, bounded. */
export class CellCapture {
  stdout = "";
  stderr = "";
  truncated = false;

  /** @param onOutput sees every piece, kept or not */
  constructor(readonly onOutput?: (fd: 1 | 2, data: string) => void) {}

  /** Keep `data` while the cell's output is under its cap. */
  push(fd: 1 | 2, data: string): void {
    this.onOutput?.(fd, data);
    const room = sessionCellOutputCharsMax - this.stdout.length - this.stderr.length;
    if (data.length > room) this.truncated = true;
    const kept = data.length > room ? data.slice(0, Math.max(0, room)) : data;
    if (fd === 1) this.stdout += kept;
    else this.stderr += kept;
  }
}

interface Running {
  id: number;
  capture: CellCapture;
  settle(answer: { json: string | null; text: string; error: CellError | null } | null): void;
  interrupted: "timeout" | "interrupt" | null;
}

const errorSchema = z.strictObject({
  name: z.string().max(256),
  message: z.string().max(64 * 1024),
  stack: z.string().max(64 * 1024),
});
const resultArgs = z.strictObject({
  id: z.number().int().nonnegative(),
  json: z.string().max(sessionCellOutputCharsMax).nullable(),
  text: z.string().max(sessionCellOutputCharsMax),
  error: errorSchema.nullable(),
});

/** Cells in flight, one per session agent at a time. */
export class SessionCells {
  #get: (pid: number) => AgentSupervisor | undefined;
  #running = new Map<number, Running>();
  #ids = 0;

  /** @param get the supervisor of a live pid */
  constructor(get: (pid: number) => AgentSupervisor | undefined) {
    this.#get = get;
  }

  /** Whether `pid` has a cell running. */
  busy(pid: number): boolean {
    return this.#running.has(pid);
  }

  /**
   * Run one cell in session agent `pid` and wait for its answer (or its end).
   *
   * @throws {KernelError} `ESRCH` for a pid that is not a live session, `EBUSY`-like `EAGAIN` while a cell runs
   */
  async exec(pid: number, cell: CellRequest): Promise<CellOutcome> {
    const sup = this.#get(pid);
    if (sup === undefined || sup.ending || !sup.session) throw new KernelError("ESRCH", "no such session agent");
    if (this.#running.has(pid)) throw new KernelError("EAGAIN", "a cell is running in this session");
    const id = ++this.#ids;
    const capture = new CellCapture(cell.onOutput);
    const answered = Promise.withResolvers<{ json: string | null; text: string; error: CellError | null } | null>();
    const running: Running = { id, capture, settle: answered.resolve, interrupted: null };
    this.#running.set(pid, running);
    sup.capture = capture;
    const timer = setTimeout(() => this.interrupt(pid, "timeout"), cell.timeoutMs);
    let ended: { reason: string; message?: string } | undefined;
    sup.agent.done.then((r) => {
      ended = r;
      answered.resolve(null);
    });
    try {
      sup.send({ t: "exec", id, script: cell.script, name: cell.name, cpuMs: cell.cpuMs });
      const answer = await answered.promise;
      return outcome(answer, running, ended);
    } finally {
      clearTimeout(timer);
      if (this.#running.get(pid) === running) this.#running.delete(pid);
      if (sup.capture === capture) sup.capture = undefined;
    }
  }

  /**
   * Transform `code` (sandbox/code/) and run it as one cell. A cell that
   * does not parse is answered with its `SyntaxError` without running; a
   * session agent that ended just before is answered `stateLost`.
   *
   * @throws {KernelError} `EAGAIN` while another cell of `pid` runs
   */
  async run(pid: number, cell: CellSource): Promise<CellOutcome> {
    let script: string;
    try {
      script = replCell(cell.code, { lang: cell.lang, cellName: cell.name }).script;
    } catch (err) {
      if (!(err instanceof CodeError)) throw err;
      return { ...notRun, error: { name: err.name, message: err.message, stack: "" }, stateLost: false };
    }
    const { code: _, lang: __, ...rest } = cell;
    try {
      return await this.exec(pid, { ...rest, script, cpuMs: cell.cpuMs ?? cell.timeoutMs });
    } catch (err) {
      if (!(err instanceof KernelError) || err.code !== "ESRCH") throw err;
      const error = { name: "SessionLost", message: `the session's context had ended: ${err.message}`, stack: "" };
      return { ...notRun, error, stateLost: true };
    }
  }

  /**
   * Interrupt the running cell of `pid`: the Worker answers at once if its
   * event loop is free; otherwise, after `sessionInterruptGraceMs`, the agent
   * is killed. Returns false when no cell runs.
   */
  interrupt(pid: number, why: "timeout" | "interrupt" = "interrupt"): boolean {
    const running = this.#running.get(pid);
    const sup = this.#get(pid);
    if (running === undefined || sup === undefined || running.interrupted !== null) return false;
    running.interrupted = why;
    sup.send({ t: "interrupt", id: running.id });
    const grace = setTimeout(() => {
      if (this.#running.get(pid) === running) {
        sup.end({ kind: "kill", message: `cell ${why === "timeout" ? "over its time" : "interrupted"} and busy` });
      }
    }, sessionInterruptGraceMs);
    sup.agent.done.then(() => clearTimeout(grace));
    return true;
  }

  /** The `session.result` row: how the Worker answers a cell. */
  syscalls(): SyscallDef[] {
    return [
      defineSyscall({
        name: "session.result",
        args: resultArgs,
        capability: null,
        handler: ({ proc, args }) => {
          const running = this.#running.get(proc.pid);
          if (running === undefined || running.id !== args.id) throw new KernelError("EINVAL", "no such cell");
          running.settle({ json: args.json, text: args.text, error: args.error });
          return null;
        },
      }),
    ];
  }
}

function outcome(
  answer: { json: string | null; text: string; error: CellError | null } | null,
  running: Running,
  ended: { reason: string; message?: string } | undefined,
): CellOutcome {
  const { stdout, stderr, truncated } = running.capture;
  const base = { stdout, stderr, outputTruncated: truncated, interrupted: running.interrupted };
  if (answer === null) {
    const why = running.interrupted === "timeout"
      ? "the cell ran over its time and kept the session's thread busy"
      : running.interrupted === "interrupt"
      ? "the cell was interrupted while it kept the session's thread busy"
      : `the session's agent ended (${ended?.reason ?? "exit"}${ended?.message ? `: ${ended.message}` : ""})`;
    const name = running.interrupted === "timeout" ? "TimeoutError" : "SessionLost";
    return { ...base, result: null, text: "", stateLost: true, error: { name, message: why, stack: "" } };
  }
  let result: unknown = null;
  if (answer.json !== null) {
    try {
      result = JSON.parse(answer.json);
    } catch { /* not JSON after all: text has it */ }
  }
  return { ...base, result, text: answer.text, error: answer.error, stateLost: false };
}
