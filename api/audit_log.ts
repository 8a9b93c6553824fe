/**
 * The service's audit log: records buffered and written every
 * `auditFlushMs` (with the denial gate's `denial.suppressed` summaries), or
 * written at once for what an API answer acknowledges. Which denials get a
 * row of their own is the gate's call (`api/audit_denials.ts`).
 *
 * @module
 */

import type { RuntimeEvent } from "../sandbox/mod.ts";
import { auditDenialMessageCharsMax, auditFlushMs, type DenialAuditGate } from "./audit_denials.ts";
import { now } from "./ids.ts";
import type { Store } from "./store.ts";

/** A denied syscall, as the runtime tells it. */
export type DenialEvent = Extract<RuntimeEvent, { type: "denial" }>;

/**
 * Buffered and synchronous audit records over a {@linkcode Store}; flushes
 * itself every `auditFlushMs` until {@linkcode AuditLog.stop}.
 */
export class AuditLog {
  #store: Store;
  #denials: DenialAuditGate;
  #buffer: Parameters<Store["audit"]>[0] = [];
  #timer: ReturnType<typeof setInterval>;

  /** @param store where rows go, @param denials which denials get a row of their own */
  constructor(store: Store, denials: DenialAuditGate) {
    this.#store = store;
    this.#denials = denials;
    this.#timer = setInterval(() => this.flush(), auditFlushMs);
  }

  /** Buffer a record: written by the next flush. */
  record(tenantId: string | null, actor: string, action: string, subject: string | null, detail: unknown): void {
    this.#buffer.push({ at: now(), tenantId, actor, action, subject, detail });
  }

  /**
   * Write a record synchronously: for records the API acknowledges in its response.
   *
   * @throws what the store throws
   */
  write(tenantId: string | null, actor: string, action: string, subject: string | null, detail: unknown): void {
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
   * whose summary is due (every pending one when `final`). A failed write is
   * logged, not thrown.
   */
  flush(final = false): void {
    for (const { tenantId, count, agents, agentsOmitted } of this.#denials.summaries(final)) {
      this.record(tenantId, "kernel", "denial.suppressed", null, { count, agents, agentsOmitted });
    }
    const rows = this.#buffer;
    this.#buffer = [];
    try {
      this.#store.audit(rows);
    } catch (err) {
      console.error(`audit flush failed: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Stop the flush timer (the last flush is the caller's). */
  stop(): void {
    clearInterval(this.#timer);
  }
}
