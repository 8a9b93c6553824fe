/**
 * Scheduling policies shared by the syscall scheduler and admission queue.
 *
 * @module
 */

/**
 * How queued work is ordered:
 * - `"fair"`: CFS-style weighted virtual runtime (tenants first, then agents);
 * - `"round-robin"`: rotate tenants, then agents within a tenant, one quantum each;
 * - `"priority"`: strict, lowest priority number first, FIFO among equals. Lower
 *   priorities starve while higher ones have work queued.
 */
export type SchedPolicy = "fair" | "round-robin" | "priority";

/** Every policy, in documentation order. */
export const schedPolicies: readonly SchedPolicy[] = ["fair", "round-robin", "priority"];

/** The policy used when none is given. */
export const schedPolicyDefault: SchedPolicy = "fair";

/** Type guard: is `value` a policy name? */
export function isSchedPolicy(value: unknown): value is SchedPolicy {
  return typeof value === "string" && (schedPolicies as readonly string[]).includes(value);
}

/** Assert that `value` is a policy (programmer error otherwise). */
export function assertSchedPolicy(value: unknown): asserts value is SchedPolicy {
  if (!isSchedPolicy(value)) throw new TypeError(`unknown scheduling policy: ${String(value)}`);
}
