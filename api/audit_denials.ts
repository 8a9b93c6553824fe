/**
 * Which denied syscalls get an audit row of their own, per tenant and per
 * agent, so that one tenant's flood never takes another tenant's rows and a
 * flooding agent grows the database by a bounded, stated number of rows.
 *
 * Time is cut into windows of `auditFlushMs` (the audit buffer's flush
 * period) and minutes, per tenant and for the whole server, each starting at
 * the first denial after the previous one ended — by the clock, not by
 * flushes, so a client that forces flushes (every `GET /v1/audit` does) buys
 * no extra rows. A denial gets its own row while its agent is under
 * `auditDenialsPerAgentPerFlushMax` rows in the window, its tenant under
 * `auditDenialsPerTenantPerFlushMax` in the window and under
 * `auditDenialsPerTenantPerMinuteMax` in the minute, and the server under
 * `auditDenialsPerServerPerFlushMax` / `auditDenialsPerServerPerMinuteMax`
 * (two flooding tenants' worth). The rest are counted, exactly, per tenant
 * and per agent and written as one `denial.suppressed` row per tenant (its
 * tenant id, the count, the agents it covers), at most one per tenant per
 * `auditFlushMs` and `auditSummariesPerFlushMax` for all tenants together
 * per `auditFlushMs` (a tenant past it keeps counting and goes first next
 * time).
 *
 * Bounds: a tenant — any number of its agents, doing anything — adds at
 * most `auditDenialRowsPerTenantPerSecMax` (25) rows per second to the audit
 * log on average, and all tenants together at most
 * `auditDenialRowsPerServerPerSecMax` (80), each row under
 * `auditDenialRowBytesMax`; `auditDenialRowsMax(ms)` and
 * `auditDenialRowsServerMax(ms)` are the exact bounds for any interval (a
 * shutdown adds one last summary per tenant with pending counts).
 *
 * @module
 */

import {
  auditDenialsPerAgentPerFlushMax,
  auditDenialsPerServerPerFlushMax,
  auditDenialsPerServerPerMinuteMax,
  auditDenialsPerTenantPerFlushMax,
  auditDenialsPerTenantPerMinuteMax,
  auditFlushMs,
  auditMinuteMs,
  auditSummariesPerFlushMax,
  auditSuppressedAgentsMax,
  auditTenantsTrackedMax,
} from "./limits.ts";

/**
 * How many windows and minutes of the gate can overlap an interval of
 * `elapsedMs`: each starts at a denial after the previous one ended, so one
 * more than fit in the interval, and one more again for the window already
 * open when it began (none is open when the interval starts at a fresh
 * start).
 */
function periods(elapsedMs: number, fresh: boolean): { windows: number; minutes: number } {
  const open = fresh ? 1 : 2;
  return {
    windows: Math.floor(elapsedMs / auditFlushMs) + open,
    minutes: Math.floor(elapsedMs / auditMinuteMs) + open,
  };
}

/**
 * Most audit rows one tenant's denials can add in any interval of
 * `elapsedMs`: denial rows (each window and minute overlapping the interval
 * at most full) plus one summary row per `auditFlushMs` (a shutdown's final
 * summary not counted).
 *
 * @param elapsedMs length of the interval, ms
 * @param fresh the interval starts when the server does (no window open yet)
 * @returns the bound, rows
 * @example
 * ```ts
 * import { auditDenialRowsMax } from "./audit_denials.ts";
 * auditDenialRowsMax(10_000); // 2400 denial rows + 52 summary rows
 * ```
 */
export function auditDenialRowsMax(elapsedMs: number, fresh = false): number {
  const { windows, minutes } = periods(elapsedMs, fresh);
  const denialRows = Math.min(minutes * auditDenialsPerTenantPerMinuteMax, windows * auditDenialsPerTenantPerFlushMax);
  return denialRows + windows;
}

/**
 * Most audit rows all tenants' denials together can add in any interval of
 * `elapsedMs`: the server's denial rows plus `auditSummariesPerFlushMax`
 * summary rows per `auditFlushMs` (a shutdown's final summaries not
 * counted). Times `auditDenialRowBytesMax`, the bytes.
 *
 * @param elapsedMs length of the interval, ms
 * @param fresh the interval starts when the server does (no window open yet)
 * @returns the bound, rows
 * @example
 * ```ts
 * import { auditDenialRowsServerMax } from "./audit_denials.ts";
 * auditDenialRowsServerMax(10_000); // 4800 denial rows + 416 summary rows
 * ```
 */
export function auditDenialRowsServerMax(elapsedMs: number, fresh = false): number {
  const { windows, minutes } = periods(elapsedMs, fresh);
  const denialRows = Math.min(minutes * auditDenialsPerServerPerMinuteMax, windows * auditDenialsPerServerPerFlushMax);
  return denialRows + windows * auditSummariesPerFlushMax;
}

/** One `denial.suppressed` row's content. */
export interface SuppressedDenials {
  tenantId: string;
  /** Denials without a row of their own since the tenant's previous summary. */
  count: number;
  /** The first `auditSuppressedAgentsMax` agents, with their share of `count`. */
  agents: { agentId: string; count: number }[];
  /** Agents beyond those listed (their denials are in `count`). */
  agentsOmitted: number;
}

/** Rows counted in a period that starts at the first use after the previous one ended. */
class Period {
  startMs = -Infinity;
  rows = 0;
  constructor(readonly lengthMs: number, readonly rowsMax: number) {}
  /** Start a new period if the last one is over; whether a row still fits. */
  roll(nowMs: number): boolean {
    if (nowMs - this.startMs >= this.lengthMs) {
      this.startMs = nowMs;
      this.rows = 0;
    }
    return this.rows < this.rowsMax;
  }
  /** Whether the period is over (nothing would be lost by forgetting it). */
  over(nowMs: number): boolean {
    return nowMs - this.startMs >= this.lengthMs;
  }
}

class TenantWindow {
  window = new Period(auditFlushMs, auditDenialsPerTenantPerFlushMax);
  minute = new Period(auditMinuteMs, auditDenialsPerTenantPerMinuteMax);
  agentRows = new Map<string, number>();
  suppressed = 0;
  suppressedAgents = new Map<string, number>();
  summaryAtMs = -Infinity;
}

/**
 * The gate. See the module documentation.
 *
 * @example
 * ```ts
 * import { DenialAuditGate } from "./audit_denials.ts";
 * let now = 0;
 * const gate = new DenialAuditGate({ nowMs: () => now });
 * for (let i = 0; i < 100; i++) gate.admit("tn_a", "ag_1"); // 64 admitted, 36 counted
 * now = 200;
 * gate.summaries(); // [{ tenantId: "tn_a", count: 36, agents: [{ agentId: "ag_1", count: 36 }], agentsOmitted: 0 }]
 * ```
 */
export class DenialAuditGate {
  /** Denials given a row of their own, in all. */
  admittedTotal = 0;
  /** Denials given no row of their own, in all. */
  suppressedTotal = 0;
  /** Tenant entries dropped past `auditTenantsTrackedMax`. */
  tenantsEvicted = 0;
  readonly #tenants = new Map<string, TenantWindow>();
  readonly #window = new Period(auditFlushMs, auditDenialsPerServerPerFlushMax);
  readonly #minute = new Period(auditMinuteMs, auditDenialsPerServerPerMinuteMax);
  readonly #summaries = new Period(auditFlushMs, auditSummariesPerFlushMax);
  readonly #now: () => number;

  /** @param options `nowMs`: a monotonic clock, ms (default `performance.now`) */
  constructor(options: { nowMs?: () => number } = {}) {
    this.#now = options.nowMs ?? (() => performance.now());
  }

  /** Tenants with state held. */
  get tenantCount(): number {
    return this.#tenants.size;
  }

  /**
   * Whether a denial gets its own audit row; if not it is counted for the
   * tenant's next `denial.suppressed` row.
   *
   * @param tenantId the denied agent's tenant
   * @param agentId the denied agent (API id, or any stable per-agent key)
   * @returns `true` to write the row
   */
  admit(tenantId: string, agentId: string): boolean {
    const now = this.#now();
    const t = this.#tenant(tenantId, now);
    if (t.window.over(now)) t.agentRows.clear();
    // Every period rolls (none may short-circuit another's), then all must have room.
    const room = [t.window.roll(now), t.minute.roll(now), this.#window.roll(now), this.#minute.roll(now)];
    const agentRows = t.agentRows.get(agentId) ?? 0;
    if (agentRows < auditDenialsPerAgentPerFlushMax && !room.includes(false)) {
      t.agentRows.set(agentId, agentRows + 1);
      t.window.rows++;
      t.minute.rows++;
      this.#window.rows++;
      this.#minute.rows++;
      this.admittedTotal++;
      return true;
    }
    t.suppressed++;
    t.suppressedAgents.set(agentId, (t.suppressedAgents.get(agentId) ?? 0) + 1);
    this.suppressedTotal++;
    return false;
  }

  /**
   * The summaries due: one per tenant with suppressed denials whose previous
   * summary is at least `auditFlushMs` old, at most
   * `auditSummariesPerFlushMax` per `auditFlushMs` for all tenants (oldest
   * summary first; the others wait, still counting); every pending one when
   * `final`. Also drops the state of tenants idle for a minute.
   *
   * @param final take every pending count (shutdown)
   * @returns the rows to write
   */
  summaries(final = false): SuppressedDenials[] {
    const now = this.#now();
    const due = [...this.#tenants].filter(([, t]) =>
      t.suppressed > 0 && (final || now - t.summaryAtMs >= auditFlushMs)
    );
    due.sort(([, a], [, b]) => a.summaryAtMs - b.summaryAtMs);
    const out: SuppressedDenials[] = [];
    for (const [tenantId, t] of due) {
      if (!final && !this.#summaries.roll(now)) break;
      this.#summaries.rows++;
      out.push(takeSummary(tenantId, t, now));
    }
    for (const [tenantId, t] of this.#tenants) {
      const idle = t.minute.over(now) && t.window.over(now) && now - t.summaryAtMs >= auditFlushMs;
      if (t.suppressed === 0 && idle) this.#tenants.delete(tenantId);
    }
    return out;
  }

  #tenant(tenantId: string, now: number): TenantWindow {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      if (this.#tenants.size >= auditTenantsTrackedMax) {
        this.#tenants.delete(this.#tenants.keys().next().value!);
        this.tenantsEvicted++;
      }
      t = new TenantWindow();
      this.#tenants.set(tenantId, t);
      t.window.roll(now);
      t.minute.roll(now);
    }
    return t;
  }
}

/** A tenant's pending counts as one summary row; its counts start again from zero. */
function takeSummary(tenantId: string, t: TenantWindow, now: number): SuppressedDenials {
  const agents = [...t.suppressedAgents].slice(0, auditSuppressedAgentsMax).map(([agentId, count]) => ({
    agentId,
    count,
  }));
  const row = { tenantId, count: t.suppressed, agents, agentsOmitted: t.suppressedAgents.size - agents.length };
  t.suppressed = 0;
  t.suppressedAgents.clear();
  t.summaryAtMs = now;
  return row;
}
