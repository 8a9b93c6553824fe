/**
 * What an exited agent leaves behind and who cleans it up: every per-pid
 * resource type and kernel table registered with the orchestrator, so exit
 * is "decide, then clean up" in reverse registration order.
 *
 * @module
 */

import type { Ipc } from "../kernel/ipc/mod.ts";
import type { Arena } from "../kernel/memory/mod.ts";
import type { ResourceOrchestrator } from "../kernel/resources/mod.ts";
import type { SyscallScheduler } from "../kernel/sched/mod.ts";
import type { Dispatcher } from "../kernel/syscall/mod.ts";
import type { AgentSupervisor } from "./agent/mod.ts";
import type { CellHost, CellPool } from "./cell/mod.ts";
import type { Workspaces } from "./fs/mod.ts";
import type { Approvals } from "./approvals.ts";
import type { PolicyLayer } from "./policy_layer.ts";

/**
 * Resource types, in registration order: cleaned up in reverse — children
 * first, then timers, IPC descriptors, the cell, the workspace on disk, and
 * arena memory last. The kernel's per-pid tables (policy chain, fast-path
 * plans, scheduler record) are dropped after them; the agent's slot in its
 * tenant's quotas is given back after all of that.
 */
export const resourceTypes = ["memory", "workspace", "cell", "ipc", "timer", "child"] as const;
/** The kernel's per-pid tables, dropped after every resource of an exited pid. */
export const kernelTables = ["approvals", "policy", "plans", "sched"] as const;

/** The parts of a runtime that hold per-pid state. */
export interface CleanupParts {
  arena: Arena;
  workspaces: Workspaces;
  ipc: Ipc;
  policy: PolicyLayer;
  approvals: Approvals;
  dispatcher: Dispatcher;
  scheduler: SyscallScheduler;
  /** The supervisor of a live pid (a child to end with its parent). */
  get(pid: number): AgentSupervisor | undefined;
  /** Where a cell goes once its agent is gone (kept for the tenant's next agent, or disposed). */
  pool: CellPool;
}

/**
 * Register every resource type and kernel table with `o`, and check that
 * none is missing.
 *
 * @param o the runtime's orchestrator
 * @param parts what holds the per-pid state
 */
export function registerCleanups(o: ResourceOrchestrator, parts: CleanupParts): void {
  o.registerType("memory", (pid) => {
    const freed = parts.arena.freeAllOf(pid);
    parts.arena.quotas.clearPid(pid);
    return freed.bytes;
  });
  o.registerType("workspace", (pid) => parts.workspaces.remove(pid));
  // A cell whose agent ended by itself may host its tenant's next agent (cell/recycled.ts decides, in the
  // background); any other end disposes it. Either way the pid holds it no longer.
  o.registerType("cell", async (pid, cell: CellHost) => {
    const sup = parts.get(pid);
    await parts.pool.release(cell, sup?.proc.tenant ?? "", sup?.endedByItself ? null : "ended");
    return 0;
  });
  o.registerType("ipc", (pid) => parts.ipc.releaseAll(pid).bytes);
  o.registerType("timer", (_pid, timer: number) => {
    clearTimeout(timer);
    return 0;
  });
  o.registerType("child", async (pid, child: number) => {
    const sup = parts.get(child);
    if (sup === undefined) return 0;
    sup.end({ kind: "kill", message: `parent ${pid} exited` });
    await sup.done;
    return 0;
  });
  // An ended agent's open approvals are cancelled: its waiting calls are answered, nobody is asked any more.
  o.registerTable("approvals", (pid) => parts.approvals.dropPid(pid));
  o.registerTable("policy", (pid) => parts.policy.dropPid(pid));
  o.registerTable("plans", (pid) => parts.dispatcher.forget(pid));
  o.registerTable("sched", (pid) => parts.scheduler.remove(pid));
  o.assertCoverage([...resourceTypes, ...kernelTables]);
}
