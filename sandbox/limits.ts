/**
 * The sandbox layer's limits (output kept, child exits, batch slices,
 * policy step budgets, warm-pool refill) and resolving the limits an agent
 * asks for into the limits it gets. Re-exported by the root `limits.ts`.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../kernel/mod.ts";
import { agentLimitsDefault, agentLimitsMax, agentLimitsMin, cellOverheadMb, codeBytesMax } from "../kernel/mod.ts";
import { processesMax } from "../kernel/mod.ts";
import { type AgentLimits, capabilities, type Capability } from "../kernel/process/mod.ts";

/** Limits as a caller may give them: any subset, plus the `memoryMb` shorthand. */
export type LimitsRequest = Partial<AgentLimits> & { memoryMb?: number };

/**
 * Fill defaults and check bounds. `memoryMb` sets the heap cap and derives
 * the RSS cap as heap + the cell runtime's own overhead.
 *
 * @throws {KernelError} `EINVAL` naming the first limit out of range
 * @example
 * ```ts
 * resolveLimits({ memoryMb: 64 }); // heapMb 64, rssMb 64 + cellOverheadMb
 * ```
 */
export function resolveLimits(request: LimitsRequest = {}, ceiling: Partial<AgentLimits> = {}): AgentLimits {
  const { memoryMb, ...rest } = request;
  const limits: AgentLimits = { ...agentLimitsDefault };
  if (memoryMb !== undefined) {
    limits.heapMb = memoryMb;
    limits.rssMb = memoryMb + cellOverheadMb;
  }
  for (const [key, value] of Object.entries(rest) as [keyof AgentLimits, number | undefined][]) {
    if (value !== undefined) limits[key] = value;
  }
  if (request.heapMb !== undefined && request.rssMb === undefined && memoryMb === undefined) {
    limits.rssMb = Math.max(limits.rssMb, limits.heapMb + cellOverheadMb);
  }
  for (const key of Object.keys(agentLimitsDefault) as (keyof AgentLimits)[]) {
    const value = limits[key];
    const max = Math.min(agentLimitsMax[key], ceiling[key] ?? Infinity);
    if (!Number.isInteger(value) || value < agentLimitsMin[key] || value > max) {
      throw new KernelError("EINVAL", `limit ${key}=${value} outside [${agentLimitsMin[key]}, ${max}]`);
    }
  }
  return limits;
}

/** An integer limit between 0 and `max`. */
export const limitInt = (max: number) => z.int().min(0).max(max);

/** Per-agent limits a request may set (HTTP body and `proc.spawn`). */
export const limitsSchema = z.strictObject({
  heapMb: limitInt(agentLimitsMax.heapMb).optional(),
  rssMb: limitInt(agentLimitsMax.rssMb).optional(),
  memoryMb: limitInt(agentLimitsMax.heapMb).optional(),
  wallMs: limitInt(agentLimitsMax.wallMs).optional(),
  cpuMs: limitInt(agentLimitsMax.cpuMs).optional(),
  outputBytes: limitInt(agentLimitsMax.outputBytes).optional(),
  diskBytes: limitInt(agentLimitsMax.diskBytes).optional(),
  filesMax: limitInt(agentLimitsMax.filesMax).optional(),
  syscallsPerSec: limitInt(agentLimitsMax.syscallsPerSec).optional(),
});

/**
 * What every spawn request carries, on any surface: the code, its language,
 * capabilities, limits and own policy. `proc.spawn` extends it with the
 * pipe descriptors a child inherits; the HTTP API with files, `wait` and a
 * priority.
 */
export const spawnRequestSchema = z.strictObject({
  code: z.string().min(1).max(codeBytesMax),
  lang: z.enum(["js", "ts"]).optional(),
  capabilities: z.array(z.enum(capabilities as [Capability, ...Capability[]])).max(16).optional(),
  limits: limitsSchema.optional(),
  /** The agent's own policy document (validated by the policy engine); it can only narrow. */
  policy: z.record(z.string(), z.unknown()).optional(),
});

/** Characters kept from the start of a stream. */
export const outputHeadCharsMax = 512 * 1024;
/** Characters kept from the end of a stream. */
export const outputTailCharsMax = 512 * 1024;
/** Characters of each stream an agent's durable record keeps (first half and last half). */
export const storedOutputCharsMax = 64 * 1024;

/** Longest `proc.wait` timeout, ms. */
export const waitMsMax = 24 * 3600 * 1000;
/** Most pipe descriptors a child may inherit. */
export const inheritFdsMax = 16;

/** Calls of a batch served as one scheduler job. */
export const batchSliceCalls = 32;
/** I/O-bound calls (files) in one such job: fewer, so one batch cannot flood the event loop with completions. */
export const batchSliceIoCalls = 8;

/** Finished children a parent keeps for `proc.wait` before the oldest is dropped. */
export const childExitsMax = 256;

/** Delay before a handed-out warm cell is replaced, ms. */
export const refillDelayMs = 50;

/**
 * Cells that may start at once per CPU core. A start costs ~150–210 ms of
 * CPU; started all at once, a burst of spawns starves every start past
 * `cellStartMsMax` (measured: 53 of 201 agents ended `crash` with 64 clients).
 */
export const cellStartsPerCore = 2;
/** Fewest cells that may start at once, whatever the core count. */
export const cellStartsMin = 2;

/**
 * Cells that may start at once on a machine with `cores` cores (the
 * runtime's default; `RuntimeOptions.cellStartsMax` overrides it).
 *
 * @example
 * ```ts
 * cellStartsMaxDefault(2); // 4
 * ```
 */
export function cellStartsMaxDefault(cores: number = navigator.hardwareConcurrency): number {
  return Math.max(cellStartsMin, cellStartsPerCore * (Number.isInteger(cores) && cores > 0 ? cores : 1));
}

/** Spawns that may wait for a cell start at once; each holds a process row, so the table bounds them too. */
export const cellStartQueueMax = processesMax;
/** Longest a spawn waits for a start slot before it is refused with `cells_busy`, ms. */
export const cellStartWaitMsMax = 30_000;
/** Attempts at starting a cell for one spawn (a start that timed out or failed is tried again). */
export const cellStartAttemptsMax = 2;
/** What a spawn refused with `cells_busy` is told to wait before it tries again, s. */
export const cellsBusyRetryAfterSec = 1;

/** Longest a blocked syscall counts as service time for the scheduler, ms. */
export const blockingSliceMs = 5;

/** Decision cache lifetime, ms. */
export const decisionTtlMs = 10_000;
/** Decision cache size, entries. */
export const decisionEntriesMax = 65_536;
/**
 * Matcher steps one agent may spend on policy evaluations (cache misses)
 * per second, refilled continuously; also its burst. About 20 ms of one
 * core at ~100 M steps/s, i.e. 20 evaluations at the engine's per-call
 * ceiling, or ~100,000 evaluations of a plain policy.
 */
export const policyStepsPerAgentPerSecMax = 2_000_000;
/** Matcher steps all agents of one tenant together may spend per second; also its burst. */
export const policyStepsPerTenantPerSecMax = 4 * policyStepsPerAgentPerSecMax;
/** Most tenant step accounts kept; past it, full (idle) accounts are dropped, which loses nothing. */
export const stepAccountsMax = 4096;

/**
 * Volumes one agent may mount (`volumes` of a spawn). Past it: the spawn is
 * refused (`EINVAL`, 400 over HTTP).
 * @default 8
 */
export const mountsPerAgentMax = 8;

/**
 * Agents one cell may host (the first plus recycles) before it is retired.
 * @default 64 (63 recycles)
 */
export const cellReusesMax = 63;
/** A cell older than this is not recycled again, ms. @default 10 min */
export const cellReuseAgeMsMax = 10 * 60 * 1000;
/** Kept cells per tenant (cells waiting for that tenant's next agent). @default 2 */
export const cellRecycledPerTenantMax = 2;
/** Kept cells on the server, all tenants together. @default 16 */
export const cellRecycledMax = 16;
/** A kept cell no agent took within this long is disposed, ms. @default 30 s */
export const cellRecycledIdleMsMax = 30_000;
/** How long a recycling cell has to answer `ready` with its fresh Worker, ms. @default 2000 */
export const cellRecycleMsMax = 2000;
/**
 * A recycled cell whose RSS is above this once its old Worker ended is not
 * kept (the next agent's `rssMb` would pay for the last one's memory), MB.
 * @default 96
 */
export const cellRecycleRssMbMax = 96;

/**
 * How long a call an `ask` rule matched waits for someone to decide
 * (`POST /v1/approvals/:id`) before it expires and fails with `EPERM`, ms.
 * The agent's own wall-clock limit still ends it sooner.
 * @default 5 min
 */
export const approvalWaitMsDefault = 5 * 60 * 1000;
/**
 * Approvals one agent may have pending at once; past it the call is
 * `EAGAIN`. A waiting call holds one of the agent's in-flight syscall slots
 * (`agentInflightMaxDefault`, 4), so this leaves the agent slots for its
 * other calls.
 * @default 2
 */
export const approvalsPerAgentMax = 2;
/** Approvals one tenant may have pending at once; past it the call is `EAGAIN`. @default 64 */
export const approvalsPerTenantMax = 64;
/**
 * Approvals pending on the server at once; past it the call is `EAGAIN`.
 * At most a quarter of the scheduler's in-flight slots (`inflightMaxDefault`,
 * 1024) ever wait for people, so waiting never starves other tenants.
 * @default 256
 */
export const approvalsServerMax = 256;
/** Decided approvals remembered (a second decision answers 409 `approval_decided`). @default 1024 */
export const approvalsRecentMax = 1024;
/**
 * How long an allowed `net.fetch` may connect to the approved host and port
 * (the fetch's own deadline is at most 30 s), ms.
 * @default 35 s
 */
export const approvalGrantMs = 35_000;
