/**
 * What a runtime is built with (`RuntimeOptions`), what a caller asks it to
 * spawn (`SpawnRequest`) and what it reports (`RuntimeStats`).
 *
 * @module
 */

import type { Capability, TraceMode } from "../kernel/process/mod.ts";
import type { SchedPolicy, SchedStats } from "../kernel/sched/mod.ts";
import type { SyscallDef } from "../kernel/syscall/mod.ts";
import type { PackageSource } from "./modules/mod.ts";
import type { AgentSlot, TenantQuotas, TenantTableStats } from "../kernel/tenants/mod.ts";
import type { Agent } from "./agent/mod.ts";
import type { MountSpec } from "./fs/mod.ts";
import type { LimitsRequest } from "./limits.ts";
import type { Resolver } from "./net/mod.ts";

/** What a caller asks for. */
export interface SpawnRequest {
  code: string;
  lang?: "js" | "ts";
  /** Host a REPL context (a session) instead of running `code`: cells go through `runtime.sessions`. */
  session?: boolean;
  /**
   * Keep the workspace when the agent ends (`keep`), or start in one kept
   * before (`reuse`: `workspaces.root(pid)` of that agent); the caller
   * deletes it with `workspaces.drop(root)` once no agent needs it.
   */
  workspace?: { reuse?: string; keep?: boolean };
  tenant?: string;
  capabilities?: Capability[];
  limits?: LimitsRequest;
  /** Files to seed the workspace with: workspace-relative path → UTF-8 text or bytes. */
  files?: Record<string, string | Uint8Array>;
  /**
   * Volumes of the agent's tenant to mount at workspace-relative paths
   * (registered in `workspaces.volumes`). Taken synchronously here (a
   * mounted volume cannot be deleted) and given back when the agent is gone.
   * Children (`proc.spawn`) mount none of them.
   */
  volumes?: readonly MountSpec[];
  /** The agent's own policy document; it can only narrow its parent's and its tenant's. */
  policy?: unknown;
  /** Pipe descriptors of the parent the child inherits before it starts. */
  inherit?: { from: number; fds: number[] };
  /** Scheduling priority 0..39 (lower = more weight; default 20). */
  priority?: number;
  /** `full`: every syscall recorded, each costing `traceFullCallCost` more rate tokens (default `sampled`; children: sampled). */
  trace?: TraceMode;
  parent?: number;
  causality?: number;
  /** Called synchronously once the agent exists, before any event of its start is read. */
  onCreated?: (agent: Agent) => void;
  /**
   * Called synchronously once the agent's workspace and cell are ready, just
   * before its code is sent: the caller's last chance to refuse it (the API
   * writes the agent's durable record here). If it throws, none of the
   * agent's code runs: the agent ends (`error`), every resource and its
   * quota slot are released, and then `spawn` rejects with what it threw.
   */
  beforeRun?: (agent: Agent) => void;
  /**
   * The agent's slot in its tenant's quotas, if the caller admitted it
   * already (the HTTP API does, to answer 429 before queueing). Otherwise
   * `spawn` admits it. From the call on, the runtime releases it on every path.
   */
  slot?: AgentSlot;
}

/** Runtime options. */
export interface RuntimeOptions {
  dataDir: string;
  /**
   * Where agents' package imports come from (a `PackageStore`; see
   * sandbox/packages/). Default: the store under `<dataDir>/packages`;
   * `null`: none (every package import is `ENOENT`).
   */
  packages?: PackageSource | null;
  /** Warm cells kept ready (default 2). */
  poolSize?: number;
  /**
   * Start cells from a prebuilt JavaScript bundle of their entry (default
   * true; false: from the TypeScript source, transpiled by every cell).
   */
  leanCell?: boolean;
  /** Keep a cell whose agent ended by itself for its tenant's next agent (default true). */
  cellReuse?: boolean;
  /**
   * How long a call an `ask` rule matched waits for a decision before it
   * expires, ms (`sandbox/approvals.ts`).
   * @default approvalWaitMsDefault (5 min)
   */
  approvalWaitMs?: number;
  /** Extra syscall rows (IPC, net, ...). */
  syscalls?: SyscallDef[];
  /** Use the dispatcher's hot-syscall fast path (default true). */
  fastPath?: boolean;
  /** DNS for `net.fetch` (default: the system resolver). Tests inject one. */
  resolve?: Resolver;
  /** Size of the kernel arena, bytes (default {@link arenaBytesDefault}). */
  arenaBytes?: number;
  /** Record events, sample, detect anomalies (default true; off only to measure the cost). */
  observability?: boolean;
  /**
   * Sequence number of the first event of this run (default 0): a restarted server continues above what it
   * handed out before (`api/traces.ts` persists it).
   */
  eventSeqFirst?: number;
  /** Initial syscall scheduling policy (default `fair`). */
  schedPolicy?: SchedPolicy;
  /** How long a tenant counts as active for the scheduler's share after its last syscall, ms (`shareActiveWindowMs`). */
  schedShareWindowMs?: number;
  /** Tenant quotas to push into the tenant table at start (the API pushes its own). */
  tenantQuotas?: Record<string, Partial<TenantQuotas>>;
  /**
   * Cells that may start at once (default `cellStartsMaxDefault()`: `cellStartsPerCore` per core); spawns past
   * it wait for a start slot, fairly across tenants, or are refused with `CellsBusyError` (`cells_busy`).
   */
  cellStartsMax?: number;
  /** Longest a spawn waits for a cell start slot before it is refused with `cells_busy`, ms (default 30 s). */
  cellStartWaitMsMax?: number;
}

/** Counters of the runtime. */
export interface RuntimeStats {
  agents: number;
  processes: number;
  illegalTransitions: number;
  tenants: TenantTableStats;
  sched: SchedStats;
  /** Directories left by an earlier server (crash, kill) that `start` removed, by kind. */
  staleDirsRemoved: { cells: number; workspaces: number };
}
