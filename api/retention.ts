/**
 * Retention: what the SQLite file keeps. A timer runs every `intervalMs`;
 * a run deletes, oldest first, the records of agents that ended more than
 * `retentionDays` ago or beyond `agentRecordsMax`, then the audit rows
 * written more than `retentionDays` ago or beyond `auditRowsMax`, and gives
 * the freed pages back to the file system.
 *
 * Every deletion is a batch of at most `retentionBatchRowsMax` rows in one
 * transaction that also appends a checkpoint row to the audit log
 * (`agents.pruned`: count and range of end times; `audit.pruned`: count, seq
 * range and time range), so the log always says what it no longer holds. A
 * batch slower than `retentionBatchMsMax` halves the next one (down to
 * `retentionBatchRowsMin`), and a macrotask runs between batches, so a run
 * never holds the event loop for longer than one small batch. A record of an
 * agent that has not ended is never deleted.
 *
 * @module
 */

import {
  agentRecordsMaxDefault,
  auditRowsMaxDefault,
  retentionBatchMsMax,
  retentionBatchRowsMax,
  retentionBatchRowsMin,
  retentionBatchTraceEventsMax,
  retentionDaysDefault,
  retentionIntervalMsDefault,
  retentionRunBatchesMax,
  retentionVacuumPagesPerStep,
  traceEventsPerAgentMaxDefault,
} from "./limits.ts";
import type { Store } from "./store.ts";

/** What the database keeps (see the module documentation). */
export interface RetentionOptions {
  /** Age past which ended agents' records and audit rows go, days (fractions allowed; 0: no age limit). */
  retentionDays: number;
  /** Agent records kept (0: no count limit). */
  agentRecordsMax: number;
  /** Audit rows kept (0: no count limit). */
  auditRowsMax: number;
  /** Time between runs, ms. */
  intervalMs: number;
  /** Events stored per agent's trace (0: no traces are stored); see `traceEventsPerAgentMaxDefault`. */
  traceEventsPerAgentMax: number;
}

/** The defaults of {@linkcode RetentionOptions} (api/limits.ts). */
export const retentionDefault: Readonly<RetentionOptions> = Object.freeze({
  retentionDays: retentionDaysDefault,
  agentRecordsMax: agentRecordsMaxDefault,
  auditRowsMax: auditRowsMaxDefault,
  intervalMs: retentionIntervalMsDefault,
  traceEventsPerAgentMax: traceEventsPerAgentMaxDefault,
});

const msPerDay = 86_400_000;

/**
 * The defaults with `overrides` applied, checked.
 *
 * @param overrides options to change (undefined fields keep their default)
 * @returns the complete options
 * @throws {RangeError} naming the option when a value is not a number ≥ 0 (an integer for counts, > 0 for `intervalMs`)
 * @example
 * ```ts
 * import { retentionOptions } from "./retention.ts";
 * retentionOptions({ retentionDays: 7 }).auditRowsMax; // 1_000_000
 * ```
 */
export function retentionOptions(overrides: Partial<RetentionOptions> = {}): RetentionOptions {
  const options: RetentionOptions = { ...retentionDefault };
  for (const key of Object.keys(retentionDefault) as (keyof RetentionOptions)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    const integer = key !== "retentionDays";
    const ok = Number.isFinite(value) && value >= 0 && (!integer || Number.isSafeInteger(value)) &&
      (key !== "intervalMs" || value > 0);
    if (!ok) throw new RangeError(`retention: ${key} must be ${integer ? "an integer" : "a number"} ≥ 0, got ${value}`);
    options[key] = value;
  }
  return options;
}

/** Counters of the retention (for tests and logs). */
export interface RetentionStats {
  runs: number;
  batches: number;
  agentsPruned: number;
  auditPruned: number;
  /** Stored trace events deleted with their agents' records. */
  traceEventsPruned: number;
  /** Runs that failed (logged; the next run tries again). */
  errors: number;
}

/** A batch size that halves when batches run slow and doubles when they run fast. */
class BatchSize {
  rows = retentionBatchRowsMax;
  took(ms: number): void {
    if (ms > retentionBatchMsMax) this.rows = Math.max(retentionBatchRowsMin, this.rows >> 1);
    else if (ms < retentionBatchMsMax / 4) this.rows = Math.min(retentionBatchRowsMax, this.rows * 2);
  }
}

/** The retention timer over a {@linkcode Store}. */
export class Retention {
  readonly stats: RetentionStats = {
    runs: 0,
    batches: 0,
    agentsPruned: 0,
    auditPruned: 0,
    traceEventsPruned: 0,
    errors: 0,
  };
  /** What is kept: read at every run, so a change takes effect at the next one. */
  readonly options: RetentionOptions;
  #store: Store;
  #nowMs: () => number;
  #log: (line: string) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #agentBatch = new BatchSize();
  #auditBatch = new BatchSize();

  /**
   * @param store the database
   * @param options what to keep (checked with {@linkcode retentionOptions})
   * @param clock `nowMs`: wall clock, epoch ms (default `Date.now`); `log`: where a failed run is reported
   */
  constructor(
    store: Store,
    options: Partial<RetentionOptions> = {},
    clock: { nowMs?: () => number; log?: (line: string) => void } = {},
  ) {
    this.#store = store;
    this.options = retentionOptions(options);
    this.#nowMs = clock.nowMs ?? Date.now;
    this.#log = clock.log ?? ((line) => console.error(line));
  }

  /** Run now (in a macrotask), then every `intervalMs` until {@linkcode Retention.stop}. */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const tick = () => {
      this.#timer = setTimeout(() => this.run().finally(() => !this.#stopped && tick()), this.options.intervalMs);
    };
    this.#timer = setTimeout(() => this.run().finally(() => !this.#stopped && tick()), 0);
  }

  /** One run (or the one in progress): every batch due, a macrotask between batches. Never throws. */
  run(): Promise<void> {
    return this.#running ??= this.#run().catch((err) => {
      this.stats.errors++;
      this.#log(`retention run failed: ${err instanceof Error ? err.message : err}`);
    }).finally(() => this.#running = undefined);
  }

  /** Stop the timer and wait for a run in progress to end its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #run(): Promise<void> {
    this.stats.runs++;
    const { retentionDays, agentRecordsMax, auditRowsMax } = this.options;
    const before = retentionDays > 0 ? new Date(this.#nowMs() - retentionDays * msPerDay).toISOString() : "";
    let batches = 0;
    let pruned = 0;
    // Agents first: their checkpoint rows are audit rows, which the audit's limits then count.
    for (const table of ["agents", "audit"] as const) {
      while (!this.#stopped && batches < retentionRunBatchesMax) {
        const rows = table === "agents"
          ? this.#agentsBatch(before, agentRecordsMax)
          : this.#auditBatchRun(before, auditRowsMax);
        if (rows === 0) break;
        batches++;
        pruned += rows;
        await macrotask();
      }
    }
    this.stats.batches += batches;
    if (pruned > 0) await this.#vacuum();
  }

  /** One batch of agent records; returns the records deleted. */
  #agentsBatch(before: string, recordsMax: number): number {
    const size = this.#agentBatch;
    const { records, aged } = this.#store.agentRetention(before, size.rows);
    const excess = recordsMax > 0 ? records - recordsMax : 0;
    const n = Math.min(size.rows, Math.max(aged, excess));
    if (n <= 0) return 0;
    const t0 = performance.now();
    const at = new Date(this.#nowMs()).toISOString();
    const done = this.#store.pruneAgents(n, at, aged >= excess ? "age" : "count", retentionBatchTraceEventsMax);
    size.took(performance.now() - t0);
    this.stats.agentsPruned += done?.records ?? 0;
    this.stats.traceEventsPruned += done?.traceEvents ?? 0;
    return done?.records ?? 0;
  }

  /** One batch of audit rows; returns the rows deleted. */
  #auditBatchRun(before: string, rowsMax: number): number {
    const size = this.#auditBatch;
    const { rows, aged } = this.#store.auditRetention(before, size.rows);
    // The batch appends its checkpoint row, so it deletes one more than the excess.
    const excess = rowsMax > 0 && rows > rowsMax ? rows - rowsMax + 1 : 0;
    const n = Math.min(size.rows, Math.max(aged, excess));
    if (n <= 0) return 0;
    const t0 = performance.now();
    const done = this.#store.pruneAudit(n, new Date(this.#nowMs()).toISOString(), aged >= excess ? "age" : "count");
    size.took(performance.now() - t0);
    this.stats.auditPruned += done?.rows ?? 0;
    return done?.rows ?? 0;
  }

  /** Give freed pages back, a bounded step at a time. */
  async #vacuum(): Promise<void> {
    for (let step = 0; step < retentionRunBatchesMax && !this.#stopped; step++) {
      if (this.#store.vacuumStep(retentionVacuumPagesPerStep) === 0) return;
      await macrotask();
    }
  }
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
