/**
 * Child agents: what a parent's supervisor keeps about its children (live
 * pids, finished ones not yet waited for, bounded), and the `proc.*` host
 * the syscall rows call. A child belongs to its parent's tenant, takes a
 * slot of the tenant's quotas like any agent, and is a resource of its
 * parent: the parent's exit kills it.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { withTimeout } from "../../lib/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import type { ResourceOrchestrator } from "../../kernel/resources/mod.ts";
import type { ChildExit, ProcHost } from "../proc_syscalls.ts";
import type { Agent } from "./agent.ts";
import type { AgentSupervisor } from "./supervisor.ts";
import { childExitsMax } from "../limits.ts";

/** A parent's children. */
export class ChildRecords {
  /** Live children's pids. */
  readonly live = new Set<number>();
  /** Finished children not yet waited for, oldest first (at most `childExitsMax`). */
  readonly exits = new Map<number, ChildExit>();

  /** Record a finished child (dropping the oldest past the bound). */
  finished(exit: ChildExit): void {
    this.exits.set(exit.pid, exit);
    if (this.exits.size > childExitsMax) this.exits.delete(this.exits.keys().next().value!);
  }
}

/** What the child host needs from the runtime. */
export interface ChildHostDeps {
  orchestrator: ResourceOrchestrator;
  /** The supervisor of a tracked pid. */
  get(pid: number): AgentSupervisor | undefined;
  /** Spawn a child of `parent` (the runtime's spawn). */
  spawn(parent: Process, request: Parameters<ProcHost["spawnChild"]>[1]): Promise<Agent>;
}

/**
 * The `proc.*` host.
 *
 * @example
 * ```ts
 * const rows = procSyscalls(childHost(deps));
 * ```
 */
export function childHost(deps: ChildHostDeps): ProcHost {
  return {
    spawnChild: async (parent, request) => {
      const sup = deps.get(parent.pid);
      if (sup === undefined || sup.ending) throw new KernelError("ECANCELED", "parent is exiting");
      const child = await deps.spawn(parent, request);
      sup.children.live.add(child.pid);
      const held = deps.orchestrator.acquire(parent.pid, "child", child.pid);
      void child.done.then((r) => {
        sup.children.live.delete(child.pid);
        deps.orchestrator.release(parent.pid, held);
        if (sup.ending) return;
        sup.children.finished({
          pid: r.pid,
          reason: r.reason,
          exitCode: r.exitCode,
          result: r.result,
          message: r.message ?? null,
        });
      });
      return child.pid;
    },
    children: (parent) => {
      const sup = deps.get(parent.pid);
      if (sup === undefined) return [];
      const live = [...sup.children.live].map((pid) => {
        const proc = deps.get(pid)?.proc;
        return { pid, state: proc?.state ?? "Exiting" as const, reason: proc?.exit?.reason ?? null };
      });
      const done = [...sup.children.exits.values()].map((e) => ({
        pid: e.pid,
        state: "Zombie" as const,
        reason: e.reason,
      }));
      return [...live, ...done];
    },
    waitChild: (parent, pid, timeoutMs) => {
      const sup = deps.get(parent.pid);
      if (sup === undefined) return undefined;
      const finished = sup.children.exits.get(pid);
      if (finished !== undefined) {
        sup.children.exits.delete(pid);
        return Promise.resolve(finished);
      }
      const child = sup.children.live.has(pid) ? deps.get(pid) : undefined;
      if (child === undefined) return undefined;
      return withTimeout(child.done, timeoutMs, () => new KernelError("ETIMEDOUT", "proc.wait: timed out")).then(
        (r) => {
          sup.children.exits.delete(pid);
          return { pid: r.pid, reason: r.reason, exitCode: r.exitCode, result: r.result, message: r.message ?? null };
        },
      );
    },
    signalChild: (parent, pid, signal) => {
      const sup = deps.get(parent.pid);
      if (sup === undefined || !sup.children.live.has(pid)) return false;
      return deps.get(pid)?.signal(signal, `${signal} from parent ${parent.pid}`) ?? false;
    },
  };
}
