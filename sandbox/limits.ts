/**
 * Resolving the limits an agent asks for into the limits it gets.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../kernel/mod.ts";
import { agentLimitsDefault, agentLimitsMax, agentLimitsMin, cellOverheadMb, codeBytesMax } from "../kernel/mod.ts";
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
