/**
 * The service's agents: the live ones (by id and by pid), the agent id of
 * each process uid for events still in the ring, the durable records — the
 * start (record + `agent.spawned`, one transaction, written before the
 * agent's code is sent) and the end (record + `agent.exited`, one
 * transaction, written when the end is decided) — and the views of a record
 * a caller may see (status, the answer of a run, wait, a page of agents).
 *
 * An end the store refuses is kept and written again (`api/pending_records.ts`);
 * until it is durable, the answers that report it (run-to-completion, wait)
 * say so: {@linkcode AgentAnswer.notDurable}.
 *
 * @module
 */

import type { AgentLimits } from "../kernel/process/mod.ts";
import { storedOutputCharsMax } from "../sandbox/mod.ts";
import type { Agent, ExitSummary } from "../sandbox/mod.ts";
import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import { now } from "./ids.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { LabelFilter } from "./labels.ts";
import { type FinalRecord, type PendingRecords, writeFinal } from "./pending_records.ts";
import type { AgentRow, Store } from "./store.ts";
import type { StoreErrors } from "./store_errors.ts";
import type { Principal } from "./tenant_keys.ts";
import type { Traces } from "./traces.ts";

/** Agent ids remembered for events still in the ring (one per spawn, oldest forgotten first). */
export const agentIdsMax = 65_536;

/** A started agent the service follows until every resource of it was released. */
export interface LiveAgent {
  id: string;
  agent: Agent;
  tenantId: string;
  createdAt: string;
  capabilities: string[];
  limits: AgentLimits;
  /** Its labels (`PATCH /v1/agents/:id` replaces them). */
  labels: Record<string, string>;
  /** The agent's own policy document now (what a failed policy change goes back to). */
  policy: unknown | null;
  /** The record of the agent's end, once decided (what status and wait answer from then on). */
  final?: AgentRow;
  /** Why the record of the end is not durable (yet): the store refused it; cleared once a retry wrote it. */
  notDurable?: ApiError;
  /** Resolves once the end is decided and its record written (or refused: `notDurable`). */
  recorded: Promise<AgentRow>;
  /** Resolves once every resource of the agent was released. */
  finished: Promise<AgentRow>;
}

/** An agent's record as an answer that claims its end: 503 instead of 2xx while `notDurable`. */
export interface AgentAnswer {
  row: AgentRow;
  notDurable?: ApiError;
}

/** Live agents and their durable records. */
export class AgentTable {
  #store: Store;
  #audit: AuditLog;
  #errors: StoreErrors;
  #pending: PendingRecords;
  #traces: Traces;
  #live = new Map<string, LiveAgent>();
  #byPid = new Map<number, LiveAgent>();
  #idByUid = new Map<number, string>();

  /**
   * @param store durable state
   * @param audit the audit log
   * @param errors where store failures are counted and logged
   * @param pending where refused final records wait
   * @param traces where the agents' events are stored
   */
  constructor(store: Store, audit: AuditLog, errors: StoreErrors, pending: PendingRecords, traces: Traces) {
    this.#traces = traces;
    this.#store = store;
    this.#audit = audit;
    this.#errors = errors;
    this.#pending = pending;
  }

  /** Remember agent `id` for process `uid` (the oldest is forgotten past `agentIdsMax`). */
  remember(uid: number, id: string): void {
    this.#idByUid.set(uid, id);
    if (this.#idByUid.size > agentIdsMax) this.#idByUid.delete(this.#idByUid.keys().next().value!);
  }

  /** The agent id of process `uid`, if still remembered. */
  idOfUid(uid: number): string | undefined {
    return this.#idByUid.get(uid);
  }

  /** The live agent `id`, whoever it belongs to. */
  live(id: string): LiveAgent | undefined {
    return this.#live.get(id);
  }

  /** A spawn was refused before its record was written: its buffered events go. */
  forget(id: string): void {
    if (!this.#live.has(id)) this.#traces.forget(id);
  }

  /** The live agent of kernel process `pid`. */
  byPid(pid: number): LiveAgent | undefined {
    return this.#byPid.get(pid);
  }

  /**
   * Record a starting agent durably (its record and `agent.spawned`, one
   * transaction), keep it live, and follow its end (recorded, then gone).
   * Called before the agent's code is sent (`SpawnRequest.beforeRun`).
   *
   * @throws what the store throws; nothing is written or kept then
   */
  track(
    tenantId: string,
    spawned: { capabilities: string[]; policy: unknown | null; labels: Record<string, string> },
    id: string,
    agent: Agent,
    release: () => void,
  ): LiveAgent {
    const entry: LiveAgent = {
      id,
      agent,
      tenantId,
      createdAt: now(),
      capabilities: spawned.capabilities,
      policy: spawned.policy,
      labels: spawned.labels,
      limits: agent.proc.limits,
      recorded: undefined as unknown as Promise<AgentRow>,
      finished: undefined as unknown as Promise<AgentRow>,
    };
    this.#store.transaction(() => {
      this.#store.insertAgent({ ...liveRow(entry), state: "Running", usage: null, stdout: "", stderr: "" });
      this.#audit.write(tenantId, tenantId, "agent.spawned", entry.id, {
        pid: agent.pid,
        capabilities: entry.capabilities,
      });
    });
    this.#traces.recorded(entry.id);
    this.#live.set(entry.id, entry);
    this.#byPid.set(agent.pid, entry);
    // The end is recorded as soon as it is decided (before the cell and the workspace are released), so an
    // answer that reports it is durable before it is sent; the slot goes back once everything is released.
    entry.recorded = agent.exited.then((summary) => this.#onExited(entry, summary));
    entry.finished = agent.done.then(async () => {
      const row = await entry.recorded;
      release();
      this.#live.delete(entry.id);
      this.#traces.finished(entry.id);
      if (this.#byPid.get(agent.pid) === entry) this.#byPid.delete(agent.pid);
      return row;
    });
    return entry;
  }

  /** Status of an agent the caller may see (404 otherwise). */
  row(p: Principal, id: string): AgentRow {
    return this.#find(p, id).row;
  }

  /** The final record of `live` with the output it kept (see `Service.answer`), and whether it is durable. */
  async answer(live: LiveAgent): Promise<AgentAnswer> {
    const row = await live.recorded;
    const summary = await live.agent.exited;
    return { row: { ...row, stdout: summary.stdout, stderr: summary.stderr }, notDurable: live.notDurable };
  }

  /** Wait for an agent the caller may see to finish; the record, and whether it is durable. */
  async wait(p: Principal, id: string): Promise<AgentAnswer> {
    const live = this.#live.get(id);
    // Waits until the agent is gone (its resources and quota slot released), not only recorded.
    if (live && (p.tenant.admin || live.tenantId === p.tenant.id)) {
      const row = await live.finished;
      return { row, notDurable: live.notDurable };
    }
    return this.#find(p, id);
  }

  /** The record of `id` the caller may see: live, waiting to be written, or durable (404 otherwise). */
  #find(p: Principal, id: string): AgentAnswer {
    const live = this.#live.get(id);
    if (live && (p.tenant.admin || live.tenantId === p.tenant.id)) {
      return { row: live.final ?? liveRow(live), notDurable: live.notDurable };
    }
    const pending = this.#pending.get(id);
    if (pending && (p.tenant.admin || pending.row.tenantId === p.tenant.id)) {
      return { row: pending.row, notDurable: pending.error };
    }
    const row = this.#store.agent(id, p.tenant.admin ? null : p.tenant.id);
    if (!row) throw new ApiError(404, "not_found", "no such agent");
    return { row };
  }

  /** A page of agents. */
  page(
    p: Principal,
    q: { state?: string; limit?: number; cursor?: string; labels?: LabelFilter[] },
  ): { agents: AgentRow[]; next: string | null } {
    const limit = q.limit ?? 50;
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const rows = this.#store.agents(p.tenant.admin ? null : p.tenant.id, {
      state: q.state,
      limit,
      before,
      labels: q.labels,
    });
    const merged = rows.map((r) => {
      const live = this.#live.get(r.id);
      return live ? liveRow(live) : this.#pending.get(r.id)?.row ?? r;
    });
    const last = rows.at(-1);
    return { agents: merged, next: rows.length === limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** A tenant's agents whose end is not decided yet (an ended one counts in its record). */
  liveOf(tenantId: string): LiveAgent[] {
    return [...this.#live.values()].filter((a) => a.tenantId === tenantId && a.final === undefined);
  }

  /** Live agent count per tenant (for metrics). */
  liveCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.#live.values()) counts.set(a.tenantId, (counts.get(a.tenantId) ?? 0) + 1);
    return counts;
  }

  /** Number of live agents. */
  get size(): number {
    return this.#live.size;
  }

  /** When each agent live now is gone. */
  finished(): Promise<AgentRow>[] {
    return [...this.#live.values()].map((a) => a.finished);
  }

  /**
   * The end is decided: write the agent's final record and its exit audit
   * row in one transaction. If the store refuses it, the record waits in
   * `pending` (written again until it takes it) and the entry says why.
   */
  #onExited(entry: LiveAgent, r: ExitSummary): AgentRow {
    const at = now();
    const row = exitRow(entry, r, "Zombie", at);
    // The durable record keeps the start and the end of each stream; the whole of it was streamed live.
    const half = storedOutputCharsMax / 2;
    row.stdout = entry.agent.stdout.clipped(half, half);
    row.stderr = entry.agent.stderr.clipped(half, half);
    entry.final = row;
    const detail = { reason: r.reason, exitCode: r.exitCode };
    const record: FinalRecord = {
      row,
      audit: {
        at,
        tenantId: entry.tenantId,
        actor: "kernel",
        action: "agent.exited",
        subject: entry.id,
        detail,
      },
    };
    try {
      writeFinal(this.#store, record, this.#traces);
    } catch (err) {
      const refused = this.#errors.failed("agent record (end)", err);
      if (refused === undefined) {
        // Not the store's failure but a bug: say so in the answer rather than claim a durable record.
        console.error(`agent record ${entry.id} not written: ${err instanceof Error ? err.stack : err}`);
        entry.notDurable = new ApiError(503, "storage_unavailable", "the agent's record could not be written");
        return row;
      }
      entry.notDurable = refused;
      this.#pending.add(record, refused, () => entry.notDurable = undefined);
    }
    return row;
  }
}

/** The record of an agent whose exit is known: the live view with the exit's outcome. */
function exitRow(
  live: LiveAgent,
  r: ExitSummary,
  state: "Exiting" | "Zombie",
  endedAt: string | null,
): AgentRow {
  return {
    ...liveRow(live),
    state,
    reason: r.reason,
    exitCode: r.exitCode,
    message: r.message ?? null,
    result: r.result,
    usage: { ...r.usage },
    stdout: r.stdout,
    stderr: r.stderr,
    endedAt,
  };
}

function liveRow(live: LiveAgent): AgentRow {
  const proc = live.agent.proc;
  return {
    id: live.id,
    tenantId: live.tenantId,
    pid: proc.pid,
    state: proc.state,
    reason: proc.exit?.reason ?? null,
    exitCode: proc.exit?.exitCode ?? null,
    message: proc.exit?.message ?? null,
    result: null,
    usage: { ...live.agent.usage, wallMs: Math.round(performance.now() - proc.startedAtMs) },
    stdout: live.agent.stdout.text(),
    stderr: live.agent.stderr.text(),
    capabilities: live.capabilities,
    limits: { ...live.limits },
    labels: live.labels,
    createdAt: live.createdAt,
    endedAt: null,
  };
}
