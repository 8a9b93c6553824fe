/**
 * Test helpers for the scheduler: a fake clock, gates that hold the
 * in-flight slots while a test queues work, and a drain wait.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { SchedEntity, SyscallScheduler } from "../../../kernel/sched/mod.ts";

/** A manual clock in ms. */
export class FakeClock {
  /** Current time. */
  t = 0;
  /** Pass as `nowMs`. */
  readonly now = (): number => this.t;
}

/** One macrotask hop. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The entity used by `hold`. */
export const gateEntity: SchedEntity = { pid: 0, tenant: "gate", priority: 20 };

/**
 * Start `slots` jobs that wait on a gate (with `quantumCalls >= slots` and
 * `inflightMax = slots` they fill every in-flight slot), so whatever is
 * submitted next queues. Resolves to the function that opens the gate.
 */
export async function hold(sched: SyscallScheduler, slots: number): Promise<() => void> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  for (let i = 0; i < slots; i++) sched.submit(gateEntity, () => gate);
  for (let hops = 0; sched.stats().inflight < slots; hops++) {
    if (hops > 10) throw new Error("gate jobs did not start");
    await tick();
  }
  return open;
}

/** Macrotask hops `drained` waits before it calls the scheduler stuck. */
export const drainHopsMax = 200_000;

/** Resolve once the scheduler has nothing queued or in flight; throw if it never gets there. */
export async function drained(sched: SyscallScheduler): Promise<void> {
  for (let hops = 0; hops < drainHopsMax; hops++) {
    const { queued, inflight } = sched.stats();
    if (queued === 0 && inflight === 0) return;
    await tick();
  }
  throw new Error(`scheduler did not drain: ${JSON.stringify(sched.stats())}`);
}

/** An entity with defaults. */
export function entity(pid: number, tenant: string, priority = 20): SchedEntity {
  return { pid, tenant, priority };
}
