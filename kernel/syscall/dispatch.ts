/**
 * The one dispatch path every syscall takes:
 *
 *   rate (agent, then tenant) → lookup → validate → capability → path → policy → handler → account → event
 *
 * The rate comes first: every frame costs a token, a call that does not
 * exist or does not validate included, so nothing an agent sends is free.
 *
 * Checks live here, never in handlers. A handler's exception becomes an error
 * completion for that call only.
 *
 * @module
 */

import { issueList } from "../../lib/mod.ts";
import { type Errno, KernelError } from "../errno.ts";
import { traceFullCallCost } from "../limits.ts";
import { isLive } from "../process/mod.ts";
import type { Process } from "../process/mod.ts";
import type { CallFrame, Completion } from "./frame.ts";
import { compileValidator, fastPathHitsMin, fastPathPlansMax } from "./fast_path.ts";
import type { CallHold, CheckedPath, PathAccess, SyscallDef, SyscallTable } from "./table.ts";
import { KernelEnforcer, type LimitEnforcer, TenantTable } from "../tenants/mod.ts";

interface Plan {
  hits: number;
  epoch: number;
  built: boolean;
  capabilityOk: boolean;
  policyAllowed: boolean;
}

/** The layer that refused a call. */
export type DenialLayer = "capability" | "path" | "policy" | "rate" | "quota";

/** The confinement layers the sandbox plugs into the kernel. */
export interface Confinement {
  /**
   * Canonicalise `raw` beneath the agent's root.
   *
   * @throws {KernelError} `EACCES` on any escape, `EINVAL` on malformed paths
   */
  checkPath(proc: Process, raw: string, access: PathAccess): Promise<CheckedPath> | CheckedPath;
  /**
   * Decide a call on its validated args and checked paths; return a verdict
   * to deny it (`EPERM` for policy, `EAGAIN` for rate or quota), null to allow.
   */
  checkPolicy?(
    proc: Process,
    call: string,
    args: unknown,
    paths: readonly CheckedPath[],
  ): PolicyVerdict | PendingVerdict | null;
  /**
   * For the fast path: if a path-less `call` of `proc` is allowed by policy
   * whatever its args, and that allow can be reused (no rate rule), the
   * epoch it holds for; else null.
   */
  stableAllow?(proc: Process, call: string): number | null;
  /** The current policy epoch (fast-path plans from older epochs are dropped). */
  policyEpoch?(): number;
}

/** Why the policy layer refused a call. */
export interface PolicyVerdict {
  errno: Errno;
  layer: Extract<DenialLayer, "policy" | "quota">;
  message: string;
}

/** A verdict that waits for a person: a policy `ask` rule matched (the sandbox's approvals decide). */
export interface PendingVerdict {
  pending: Promise<PolicyVerdict | null>;
}

/**
 * Receives one record per finished syscall. Must not throw.
 *
 * Latency is read from the dispatcher's clock at most once per microtask
 * turn at each end: calls started in the same turn share the start
 * reading, calls completed in the same turn share the end reading (`atMs`).
 * One clock read costs more than recording the call (~0.1–0.2 µs here), so
 * a batch slice of synchronous calls pays two reads in all, and each of its
 * calls is recorded with the slice's service time — what its answer waited
 * for, since a slice is answered as a whole.
 */
export interface SyscallObserver {
  syscall(
    proc: Process,
    call: string,
    args: unknown,
    errno: Errno | null,
    latencyUs: number,
    bytes: number,
    message: string | null,
    atMs: number,
  ): void;
  denial(proc: Process, call: string, layer: DenialLayer, errno: Errno, message: string): void;
}

/** Dispatcher options. */
export interface DispatcherOptions {
  table: SyscallTable;
  confinement: Confinement;
  observer?: SyscallObserver;
  /** Monotonic clock in ms (injected so tests control time). */
  nowMs?: () => number;
  /** Use the hot-syscall fast path (default true). */
  fastPath?: boolean;
  /** The limits asked about every frame first (default: a `KernelEnforcer` over a fresh tenant table). */
  limits?: LimitEnforcer;
}

/** Serves frames against the table. */
export class Dispatcher {
  #table: SyscallTable;
  #confine: Confinement;
  #observer: SyscallObserver | undefined;
  #now: () => number;
  #fast: boolean;
  #limits: LimitEnforcer;
  #plans = new Map<number, Map<string, Plan>>();
  #planCount = 0;
  #validators = new WeakMap<SyscallDef, ((args: unknown) => boolean) | null>();
  /** This microtask turn's clock reading (NaN: none yet); see {@linkcode SyscallObserver}. */
  #turnMs = NaN;
  readonly #endTurn = () => {
    this.#turnMs = NaN;
  };
  /** Calls served with a fast-path plan. */
  fastHits = 0;

  /** @param options table, confinement, observer and clock */
  constructor(options: DispatcherOptions) {
    this.#table = options.table;
    this.#confine = options.confinement;
    this.#observer = options.observer;
    this.#now = options.nowMs ?? (() => performance.now());
    this.#fast = options.fastPath ?? true;
    this.#limits = options.limits ?? new KernelEnforcer(new TenantTable({ nowMs: this.#now }));
  }

  /** Drop the fast-path plans of an exited pid. */
  forget(pid: number): void {
    this.#planCount -= this.#plans.get(pid)?.size ?? 0;
    this.#plans.delete(pid);
  }

  /** Names of every call in the table. */
  calls(): string[] {
    return this.#table.names();
  }

  /** Whether `call` does host file-system work (see `SyscallDef.ioBound`). */
  ioBound(call: string): boolean {
    return this.#table.ioBound(call);
  }

  /** Whether `call` may wait on the outside world (see `SyscallDef.blocking`). */
  blocking(call: string): boolean {
    return this.#table.blocking(call);
  }

  /**
   * Serve one call for `proc`. Never throws; always resolves to a completion.
   *
   * @example
   * ```ts
   * const done = await dispatcher.dispatch(proc, { id: 1, call: "time.now", args: {} });
   * ```
   */
  async dispatch(proc: Process, frame: CallFrame, hold?: CallHold): Promise<Completion> {
    const observer = this.#observer;
    // No observer, no latency: the clock is read only for the record.
    const started = observer === undefined ? 0 : this.#turnClock();
    let bytes = 0;
    let value: unknown;
    try {
      value = await this.#serve(proc, frame, (n) => bytes += n, hold);
    } catch (err) {
      const { code, message: raw } = toErrno(err);
      const message = raw.startsWith(frame.call) ? raw : `${frame.call.slice(0, 64)}: ${raw}`;
      proc.usage.errors++;
      if (observer !== undefined) {
        const at = this.#turnClock();
        observer.syscall(proc, frame.call, frame.args, code, elapsedUs(started, at), bytes, message, at);
      }
      return { id: frame.id, ok: false, error: { code, message } };
    }
    if (observer !== undefined) {
      const at = this.#turnClock();
      observer.syscall(proc, frame.call, frame.args, null, elapsedUs(started, at), bytes, null, at);
    }
    return { id: frame.id, ok: true, value: value ?? null };
  }

  /**
   * Charge a frame that could not be decoded as if it were a call: it costs
   * a token of the agent's and the tenant's rate and counts as a failed
   * syscall.
   *
   * @returns false when the agent or its tenant is over its rate (answer `EAGAIN`)
   */
  chargeFrame(proc: Process): boolean {
    proc.usage.syscalls++;
    proc.usage.errors++;
    return this.#limits.admitCall(proc, 1) === null;
  }

  async #serve(
    proc: Process,
    frame: CallFrame,
    addBytes: (n: number) => void,
    hold: CallHold | undefined,
  ): Promise<unknown> {
    if (!isLive(proc.state)) throw new KernelError("ECANCELED", "agent is exiting");
    const row = this.#table.get(frame.call);
    proc.usage.syscalls++;
    const name = row?.name ?? "(unknown)";
    // A full trace is paid from the agent's own rate (see `traceFullCallCost`).
    const cost = (row?.cost ?? 1) + (proc.trace === "full" ? traceFullCallCost : 0);
    const refused = this.#limits.admitCall(proc, cost);
    if (refused !== null) this.#deny(proc, name, refused.layer, refused.errno, `${name}: ${refused.message}`);
    if (row === undefined) throw new KernelError("ENOSYS", `unknown syscall ${frame.call.slice(0, 64)}`);
    const plan = this.#fast ? this.#plan(proc, row) : undefined;
    if (plan !== undefined) this.fastHits++;
    const args = plan !== undefined && this.#validator(row)?.(frame.args)
      ? frame.args
      : this.#validate(row, frame.args);
    if (!plan?.capabilityOk && row.capability !== null && !proc.capabilities.has(row.capability)) {
      const cap = row.capability;
      this.#deny(
        proc,
        row.name,
        "capability",
        "EACCES",
        `${row.name}: ${cap} not granted: spawn with capabilities ["${cap}"]`,
      );
    }
    const paths: CheckedPath[] = [];
    for (const claim of row.paths?.(args) ?? []) {
      try {
        paths.push(await this.#confine.checkPath(proc, claim.path, claim.access));
      } catch (err) {
        const { code, message } = toErrno(err);
        if (code !== "EACCES") throw err;
        this.#deny(proc, row.name, "path", code, `${row.name}: ${message}`);
      }
    }
    if (!(plan?.policyAllowed && paths.length === 0)) {
      let verdict = this.#confine.checkPolicy?.(proc, row.name, args, paths) ?? null;
      if (verdict !== null && "pending" in verdict) {
        verdict = await verdict.pending;
        if (verdict === null && !isLive(proc.state)) throw new KernelError("ECANCELED", "agent is exiting");
      }
      if (verdict !== null) this.#deny(proc, row.name, verdict.layer, verdict.errno, `${row.name}: ${verdict.message}`);
    }
    return await row.handler({
      proc,
      args,
      paths,
      addBytes,
      reserve: hold === undefined ? noReserve : (n) => hold.reserve(n),
    });
  }

  #validate(row: SyscallDef, raw: unknown): unknown {
    const parsed = row.args.safeParse(raw);
    if (parsed.success) return parsed.data;
    const [issue] = issueList(parsed.error, 1);
    const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new KernelError("EINVAL", `${row.name}: ${issue?.message ?? "invalid arguments"}${where}`);
  }

  #validator(row: SyscallDef): ((args: unknown) => boolean) | null {
    let validator = this.#validators.get(row);
    if (validator === undefined) this.#validators.set(row, validator = compileValidator(row.args));
    return validator;
  }

  /** The plan for (proc, call) once it is hot and current; undefined while cold. */
  #plan(proc: Process, row: SyscallDef): Plan | undefined {
    let plans = this.#plans.get(proc.pid);
    if (plans === undefined) this.#plans.set(proc.pid, plans = new Map());
    let plan = plans.get(row.name);
    const epoch = this.#confine.policyEpoch?.() ?? 0;
    if (plan === undefined) {
      if (this.#planCount >= fastPathPlansMax) {
        this.#plans.clear();
        this.#planCount = 0;
        this.#plans.set(proc.pid, plans);
      }
      plans.set(row.name, plan = { hits: 0, epoch, built: false, capabilityOk: false, policyAllowed: false });
      this.#planCount++;
    }
    if (plan.built && plan.epoch === epoch) return plan;
    if (++plan.hits < fastPathHitsMin) return undefined;
    plan.built = true;
    plan.epoch = epoch;
    plan.capabilityOk = row.capability === null || proc.capabilities.has(row.capability);
    plan.policyAllowed = row.paths === undefined && this.#confine.stableAllow?.(proc, row.name) === epoch;
    return plan;
  }

  #deny(proc: Process, call: string, layer: DenialLayer, code: Errno, message: string): never {
    proc.usage.denials++;
    this.#observer?.denial(proc, call, layer, code, message);
    throw new KernelError(code, message);
  }

  /** The clock, read at most once per microtask turn (see {@linkcode SyscallObserver}). */
  #turnClock(): number {
    const cached = this.#turnMs;
    if (cached === cached) return cached; // not NaN: read in this turn already
    const now = this.#now();
    this.#turnMs = now;
    queueMicrotask(this.#endTurn);
    return now;
  }
}

function elapsedUs(startedMs: number, endedMs: number): number {
  return Math.round((endedMs - startedMs) * 1000);
}

function noReserve(): void {}

/** Map any thrown value to an errno and a guest-safe message (no host stack). */
export function toErrno(err: unknown): { code: Errno; message: string } {
  if (err instanceof KernelError) return { code: err.code, message: err.message };
  return { code: "EIO", message: "internal error while serving the call" };
}
