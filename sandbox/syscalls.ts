/**
 * The sandbox's syscall table: the kernel's built-ins, `fs.*`, `ipc.*`,
 * `proc.*` (through the child-agent host) and `net.*`, plus any calls a
 * caller adds — every call an agent can make, assembled in one place.
 *
 * @module
 */

import type { Ipc } from "../kernel/ipc/mod.ts";
import type { ResourceOrchestrator } from "../kernel/resources/mod.ts";
import { builtinSyscalls, type SyscallDef, SyscallTable } from "../kernel/syscall/mod.ts";
import { type AgentSupervisor, childHost, type ChildHostDeps } from "./agent/mod.ts";
import { fsSyscalls, type Workspaces } from "./fs/mod.ts";
import { moduleSyscalls, type Packages } from "./modules/mod.ts";
import { netSyscalls, type Resolver } from "./net/mod.ts";
import type { PolicyLayer } from "./policy_layer.ts";
import { procSyscalls } from "./proc_syscalls.ts";

/** What the table's calls reach. */
export interface SandboxSyscallDeps {
  /** The supervisor of a live pid (its output writer, its children). */
  get(pid: number): AgentSupervisor | undefined;
  workspaces: Workspaces;
  ipc: Ipc;
  orchestrator: ResourceOrchestrator;
  policy: PolicyLayer;
  /** Packages of the store, for `mod.load`. */
  packages: Packages;
  /** Start a child of `parent` (the runtime's spawn with the parent's tenant, causality and pipes). */
  spawnChild: ChildHostDeps["spawn"];
  /** DNS resolver for `net.fetch` (tests pin it). */
  resolve?: Resolver;
  /** Extra calls (tests, embedders). */
  extra?: readonly SyscallDef[];
}

/**
 * Build the syscall table of a runtime.
 *
 * @param deps what the calls reach
 * @returns the table the dispatcher serves
 */
export function sandboxSyscalls(deps: SandboxSyscallDeps): SyscallTable {
  return new SyscallTable([
    ...builtinSyscalls({ write: (proc, fd, data) => deps.get(proc.pid)?.write(fd, data), nowMs: Date.now }),
    ...fsSyscalls(deps.workspaces),
    ...moduleSyscalls(deps.packages),
    ...deps.ipc.syscalls(),
    ...procSyscalls(childHost({ orchestrator: deps.orchestrator, get: deps.get, spawn: deps.spawnChild })),
    ...netSyscalls({
      decide: (proc, req) => deps.policy.decideEgress(proc, req),
      allowCidrs: (proc) => deps.policy.allowCidrs(proc),
      resolve: deps.resolve,
    }),
    ...(deps.extra ?? []),
  ]);
}
