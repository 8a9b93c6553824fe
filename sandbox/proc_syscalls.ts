/**
 * The `proc.*` rows: child agents and signals.
 *
 * - `proc.spawn {code, lang?, capabilities?, limits?, fds?, policy?}` →
 *   `{pid}`. Capabilities must be a subset of the parent's (`EACCES`), every
 *   limit at most the parent's (`EINVAL`), and the tenant's live-agent cap
 *   stops spawn bombs (`EAGAIN`). `fds` are pipe descriptors the child
 *   inherits. The child shares the parent's tenant and causality id.
 * - `proc.wait {pid, timeoutMs?}` → `{pid, reason, exitCode, result, message}`
 *   for an own child (`ESRCH` otherwise; `ETIMEDOUT` on timeout).
 * - `proc.kill {pid, signal?}` — `TERM` (delivered to `sys.onSignal`, then
 *   `KILL` after a grace period) or `KILL` (default, cannot be caught).
 * - `proc.list {}` → own children `[{pid, state, reason}]`.
 *
 * A parent's exit kills its children (reason `killed`): each child is a
 * resource of the parent in the orchestrator.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../kernel/mod.ts";
import { agentLimitsDefault } from "../kernel/mod.ts";
import type { ExitReason, ProcState } from "../kernel/process/mod.ts";
import type { AgentLimits, Capability, Process } from "../kernel/process/mod.ts";
import { defineSyscall, type SyscallDef } from "../kernel/syscall/mod.ts";
import { inheritFdsMax, type LimitsRequest, resolveLimits, spawnRequestSchema, waitMsMax } from "./limits.ts";

/** What a finished child reports to its parent. */
export interface ChildExit {
  pid: number;
  reason: ExitReason;
  exitCode: number;
  result: unknown;
  message: string | null;
}

/** What the rows need from the runtime. */
export interface ProcHost {
  spawnChild(parent: Process, request: {
    code: string;
    lang?: "js" | "ts";
    capabilities: Capability[];
    limits: AgentLimits;
    fds: number[];
    policy?: unknown;
  }): Promise<number>;
  /** Own children of `parent`: live ones with their state, finished ones not yet waited. */
  children(parent: Process): { pid: number; state: ProcState; reason: ExitReason | null }[];
  /** Wait for an own child; undefined if `pid` is not one. */
  waitChild(parent: Process, pid: number, timeoutMs: number | undefined): Promise<ChildExit> | undefined;
  /** Signal an own child; false if `pid` is not one. */
  signalChild(parent: Process, pid: number, signal: "TERM" | "KILL"): boolean;
}

const spawnArgs = spawnRequestSchema.extend({
  fds: z.array(z.int().min(0)).max(inheritFdsMax).optional(),
});

/**
 * Build the rows.
 *
 * @example
 * ```ts
 * const rows = procSyscalls(runtimeAsProcHost);
 * ```
 */
export function procSyscalls(host: ProcHost): SyscallDef[] {
  return [
    defineSyscall({
      name: "proc.spawn",
      blocking: true,
      args: spawnArgs,
      capability: "proc.spawn",
      handler: async ({ proc, args }) => {
        const caps = args.capabilities ?? [];
        const extra = caps.filter((c) => !proc.capabilities.has(c));
        if (extra.length > 0) {
          throw new KernelError("EACCES", `proc.spawn: parent lacks ${extra.join(", ")}; a child gets a subset`);
        }
        const limits = childLimits(proc.limits, args.limits ?? {});
        const pid = await host.spawnChild(proc, {
          code: args.code,
          lang: args.lang,
          capabilities: caps,
          limits,
          fds: args.fds ?? [],
          policy: args.policy,
        });
        return { pid };
      },
    }),
    defineSyscall({
      name: "proc.wait",
      blocking: true,
      args: z.strictObject({ pid: z.int().min(1), timeoutMs: z.int().min(0).max(waitMsMax).optional() }),
      capability: null,
      handler: async ({ proc, args }) => {
        const waiting = host.waitChild(proc, args.pid, args.timeoutMs);
        if (waiting === undefined) {
          throw new KernelError("ESRCH", `proc.wait: ${args.pid} is not a child of this agent`);
        }
        return await waiting;
      },
    }),
    defineSyscall({
      name: "proc.kill",
      args: z.strictObject({ pid: z.int().min(1), signal: z.enum(["TERM", "KILL"]).optional() }),
      capability: null,
      handler: ({ proc, args }) => {
        if (!host.signalChild(proc, args.pid, args.signal ?? "KILL")) {
          throw new KernelError("ESRCH", `proc.kill: ${args.pid} is not a live child of this agent`);
        }
      },
    }),
    defineSyscall({
      name: "proc.list",
      args: z.strictObject({}),
      capability: null,
      handler: ({ proc }) => host.children(proc),
    }),
  ];
}

/**
 * A child's limits: each asked value must be at most the parent's; values
 * not asked default to the lower of the default and the parent's.
 *
 * @throws {KernelError} `EINVAL` naming the first limit above the parent's
 */
export function childLimits(parent: Readonly<AgentLimits>, asked: LimitsRequest): AgentLimits {
  const request: LimitsRequest = { ...asked };
  for (const key of Object.keys(agentLimitsDefault) as (keyof AgentLimits)[]) {
    const derived = asked.memoryMb !== undefined && (key === "heapMb" || key === "rssMb");
    if (asked[key] === undefined && !derived) request[key] = Math.min(agentLimitsDefault[key], parent[key]);
  }
  try {
    return resolveLimits(request, parent);
  } catch (err) {
    if (err instanceof KernelError) {
      throw new KernelError("EINVAL", `proc.spawn: ${err.message} (a child's limits are within its parent's)`);
    }
    throw err;
  }
}
