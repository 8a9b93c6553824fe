/**
 * The service's audit log: records buffered and written every
 * `auditFlushMs` (with the denial gate's `denial.suppressed` summaries), or
 * written at once for what an API answer acknowledges — inside the
 * transaction of the state change they describe. Which denials get a row of
 * their own is the gate's call (`api/audit_denials.ts`).
 *
 * A flush the store refuses keeps its rows and the next flush tries again;
 * the buffer holds at most `auditBufferRowsMax` rows (the oldest are dropped
 * past it, counted in {@linkcode AuditLog.dropped}).
 *
 * @module
 */

import type { RuntimeEvent } from "../sandbox/mod.ts";
import { type DenialAuditGate } from "./audit_denials.ts";
import { auditDenialMessageCharsMax, auditFlushMs } from "./limits.ts";
import { now } from "./ids.ts";
import { auditBufferRowsMax } from "./limits.ts";
import type { AuditRow, Store } from "./store.ts";
import type { AuditAction } from "./audit_actions.ts";
import type { StoreErrors } from "./store_errors.ts";

/** A denied syscall, as the runtime tells it. */
export type DenialEvent = Extract<RuntimeEvent, { type: "denial" }>;

/**
 * Buffered and synchronous audit records over a {@linkcode Store}; flushes
 * itself every `auditFlushMs` until {@linkcode AuditLog.stop}.
 */
export class AuditLog {
  /** Buffered rows dropped because the buffer was full while the store refused them. */
  dropped = 0;
  #store: Store;
  #denials: DenialAuditGate;
  #errors: StoreErrors;
  #rowsMax: number;
  #buffer: Omit<AuditRow, "seq">[] = [];
  #timer: ReturnType<typeof setInterval>;

  /**
   * @param store where rows go
   * @param denials which denials get a row of their own
   * @param errors where a refused flush is counted and logged
   * @param options `rowsMax`: rows the buffer keeps (default `auditBufferRowsMax`)
   */
  constructor(store: Store, denials: DenialAuditGate, errors: StoreErrors, options: { rowsMax?: number } = {}) {
    this.#store = store;
    this.#denials = denials;
    this.#errors = errors;
    this.#rowsMax = options.rowsMax ?? auditBufferRowsMax;
    this.#timer = setInterval(() => this.flush(), auditFlushMs);
  }

  /** Rows waiting for the next flush. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Buffer a record: written by the next flush. */
  record(tenantId: string | null, actor: string, action: AuditAction, subject: string | null, detail: unknown): void {
    this.#buffer.push({ at: now(), tenantId, actor, action, subject, detail });
    this.#bound();
  }

  /**
   * Write a record now: for records the API acknowledges in its response.
   * Inside a `store.transaction` it is part of that transaction.
   *
   * @throws what the store throws
   */
  write(tenantId: string | null, actor: string, action: AuditAction, subject: string | null, detail: unknown): void {
    this.#store.audit([{ at: now(), tenantId, actor, action, subject, detail }]);
  }

  /**
   * A denied syscall: a `denial` row if the gate admits it, otherwise
   * counted in its tenant's next `denial.suppressed` summary.
   *
   * @param event the denial
   * @param agentId the agent's id, if it is known
   */
  denial(event: DenialEvent, agentId: string | undefined): void {
    if (!this.#denials.admit(event.tenant, agentId ?? `pid:${event.pid}`)) return;
    this.record(event.tenant, "kernel", "denial", agentId ?? null, {
      call: event.call,
      layer: event.layer,
      errno: event.errno,
      message: event.message.slice(0, auditDenialMessageCharsMax),
    });
  }

  /**
   * Write buffered audit records, with one `denial.suppressed` row per tenant
   * whose summary is due (every pending one when `final`). Rows the store
   * refuses stay buffered for the next flush (counted and logged, not thrown);
   * rows that fail for another reason (a bug) are logged and dropped, counted.
   *
   * @returns whether the buffer is empty now
   */
  flush(final = false): boolean {
    for (const { tenantId, count, agents, agentsOmitted } of this.#denials.summaries(final)) {
      this.record(tenantId, "kernel", "denial.suppressed", null, { count, agents, agentsOmitted });
    }
    if (this.#buffer.length === 0) return true;
    try {
      this.#store.audit(this.#buffer);
    } catch (err) {
      if (this.#errors.failed(`audit flush (${this.#buffer.length} rows kept)`, err) !== undefined) return false;
      console.error(
        `audit flush failed, ${this.#buffer.length} rows dropped: ${err instanceof Error ? err.stack : err}`,
      );
      this.dropped += this.#buffer.length;
    }
    this.#buffer = [];
    return true;
  }

  /** Stop the flush timer (the last flush is the caller's). */
  stop(): void {
    clearInterval(this.#timer);
  }

  #bound(): void {
    const over = this.#buffer.length - this.#rowsMax;
    if (over <= 0) return;
    this.#buffer.splice(0, over);
    this.dropped += over;
  }
}
