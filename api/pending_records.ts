/**
 * An agent's end is written as one transaction: its final record and its
 * `agent.exited` audit row ({@linkcode writeFinal}). When the store refuses
 * it (disk full, I/O error) the agent has already run, so the record is kept
 * here, in memory, and written again every `storeRetryMs` until the store
 * takes it; meanwhile status and wait answer from it, and the answers that
 * would claim durability (run-to-completion, wait) are 503 with the result
 * marked not durable.
 *
 * Bound: `agentRecordsPendingMax` records. Past it the oldest is dropped and
 * counted in {@linkcode PendingRecords.lost}: its durable record stays
 * `Running`, and the next start records it as `crash` (`Service.recover`).
 *
 * @module
 */

import type { ApiError } from "./api_error.ts";
import { agentRecordsPendingMax, storeRetryMs } from "./limits.ts";
import type { AgentRow, AuditRow, Store } from "./store.ts";
import type { StoreErrors } from "./store_errors.ts";
import type { Traces } from "./traces.ts";

/** An agent's end as written: its final record and its `agent.exited` audit row. */
export interface FinalRecord {
  row: AgentRow;
  audit: Omit<AuditRow, "seq">;
}

/**
 * Write an agent's end durably: the final record, its audit row and the
 * agent's trace events still buffered (its exit event among them) in one
 * transaction.
 *
 * @param store where it goes
 * @param record the final record and its audit row
 * @param traces the trace writer, whose buffered events of the agent join the transaction
 * @throws what the store throws (nothing of it is written then)
 */
export function writeFinal(store: Store, record: FinalRecord, traces?: Traces): void {
  store.transaction(() => {
    traces?.writeAgent(record.row.id);
    store.finishAgent(record.row);
    store.audit([record.audit]);
  });
}

interface Pending {
  record: FinalRecord;
  /** Why the store refused it (the last failure). */
  error: ApiError;
  /** Called once the record is durable. */
  written: () => void;
}

/** Final records the store refused, written again until it takes them (bounded). */
export class PendingRecords {
  /** Records dropped before the store took them (over the bound, or at shutdown). */
  lost = 0;
  #pending = new Map<string, Pending>();
  #store: Store;
  #errors: StoreErrors;
  #max: number;
  #retryMs: number;
  #traces: Traces | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param store where records go
   * @param errors where failures are counted and logged
   * @param options `max` records kept (default `agentRecordsPendingMax`), `retryMs` between attempts
   *   (default `storeRetryMs`), `traces` whose buffered events of an agent are written with its record
   */
  constructor(
    store: Store,
    errors: StoreErrors,
    options: { max?: number; retryMs?: number; traces?: Traces } = {},
  ) {
    this.#traces = options.traces;
    this.#store = store;
    this.#errors = errors;
    this.#max = options.max ?? agentRecordsPendingMax;
    this.#retryMs = options.retryMs ?? storeRetryMs;
  }

  /** Records waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** The waiting record of agent `id` and why it is not durable, if it is waiting. */
  get(id: string): { row: AgentRow; error: ApiError } | undefined {
    const p = this.#pending.get(id);
    return p && { row: p.record.row, error: p.error };
  }

  /**
   * Keep a refused record for the next attempt.
   *
   * @param record what to write
   * @param error why the store refused it
   * @param written called once it is durable
   */
  add(record: FinalRecord, error: ApiError, written: () => void): void {
    if (this.#pending.size >= this.#max) {
      const oldest = this.#pending.keys().next().value!;
      this.#pending.delete(oldest);
      this.lost++;
      console.error(
        `agent record ${oldest} dropped unwritten (${this.#max} waiting); the next start records it as crash`,
      );
    }
    this.#pending.set(record.row.id, { record, error, written });
    this.#timer ??= setInterval(() => this.retry(), this.#retryMs);
  }

  /**
   * Write every waiting record, in one transaction. A failure that is not
   * the store's (a bug) is logged and the records are dropped, counted.
   *
   * @returns whether none is waiting now
   */
  retry(): boolean {
    if (this.#pending.size === 0) return true;
    const waiting = [...this.#pending.values()];
    try {
      this.#store.transaction(() => {
        for (const p of waiting) writeFinal(this.#store, p.record, this.#traces);
      });
    } catch (err) {
      const api = this.#errors.failed(`agent records (${waiting.length} waiting)`, err);
      if (api !== undefined) {
        for (const p of waiting) p.error = api;
        return false;
      }
      // Not the store's failure but a bug: trying again would fail again.
      console.error(`${waiting.length} agent record(s) dropped unwritten: ${err instanceof Error ? err.stack : err}`);
      this.lost += waiting.length;
      this.#pending.clear();
      this.stop();
      return true;
    }
    for (const p of waiting) {
      this.#pending.delete(p.record.row.id);
      p.written();
    }
    if (this.#pending.size === 0) this.stop();
    return true;
  }

  /** Stop retrying; what still waits is counted as lost (the next start records it as crash). */
  close(): void {
    this.stop();
    if (this.#pending.size === 0) return;
    this.lost += this.#pending.size;
    console.error(`${this.#pending.size} agent record(s) could not be written; the next start records them as crash`);
    this.#pending.clear();
  }

  /** Stop the retry timer (records stay; `add` starts it again). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
