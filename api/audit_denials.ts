/**
 * Which denied syscalls get an audit row of their own, per tenant and per
 * agent, so that one tenant's flood never takes another tenant's rows and a
 * flooding agent grows the database by a bounded, stated number of rows.
 *
 * Time is cut into windows of `auditFlushMs` (the audit buffer's flush
 * period) and minutes, per tenant, each starting at the tenant's first denial
 * after the previous one ended — by the clock, not by flushes, so a client
 * that forces flushes (every `GET /v1/audit` does) buys no extra rows. A
 * denial gets its own row while its agent is under
 * `auditDenialsPerAgentPerFlushMax` rows in the window, its tenant under
 * `auditDenialsPerTenantPerFlushMax` in the window and under
 * `auditDenialsPerTenantPerMinuteMax` in the minute. The rest are counted
 * per tenant and per agent and written as one `denial.suppressed` row per
 * tenant (its tenant id, the count, the agents it covers), at most one per
 * tenant per `auditFlushMs`.
 *
 * Bound: a tenant — any number of its agents, doing anything — adds at most
 * `auditDenialRowsPerTenantPerSecMax` (25) rows per second to the audit log
 * on average, each under `auditDenialRowBytesMax`; `auditDenialRowsMax(ms)`
 * is the exact bound for any interval.
 *
 * @module
 */

import { assert } from "../lib/mod.ts";

/** How often buffered audit records are flushed, ms; also the length of a denial-audit window. */
export const auditFlushMs = 200;
/** Length of a denial-audit minute, ms. */
export const auditMinuteMs = 60_000;
/** Denial rows one agent may write per `auditFlushMs` window; the rest are summarised. */
export const auditDenialsPerAgentPerFlushMax = 64;
/** Denial rows one tenant (all its agents together) may write per `auditFlushMs` window. */
export const auditDenialsPerTenantPerFlushMax = 256;
/**
 * Denial rows one tenant may write per minute: 20 rows/s on average. With one
 * `denial.suppressed` row per `auditFlushMs` (5/s) that makes
 * `auditDenialRowsPerTenantPerSecMax` = 25 rows/s per tenant at most,
 * whatever its agents do.
 */
export const auditDenialsPerTenantPerMinuteMax = 1200;
/** Most audit rows per second one tenant's denials add, on average: denial rows plus summary rows. */
export const auditDenialRowsPerTenantPerSecMax: number = auditDenialsPerTenantPerMinuteMax * 1000 / auditMinuteMs +
  1000 / auditFlushMs;
/** Agents named (with their counts) in one `denial.suppressed` row; the others are counted in `agentsOmitted`. */
export const auditSuppressedAgentsMax = 16;
/** Characters of a denial's message kept in its audit row. */
export const auditDenialMessageCharsMax = 256;
/**
 * Upper bound on one denial or summary row, bytes: the message (≤ 256
 * characters, up to 4 bytes each in UTF-8), a call name (≤ 64), up to 16
 * agent ids with counts, timestamps, ids and JSON keys.
 */
export const auditDenialRowBytesMax = 2048;
/**
 * Tenants the gate keeps state for at once. Only tenants with a denial in the
 * last minute are held (the rest are dropped on flush); past this the oldest
 * entry is dropped (counted in `tenantsEvicted`), which restarts that
 * tenant's minute. Tenants are made by an admin, never by an agent.
 */
export const auditTenantsTrackedMax = 65_536;

assert(auditDenialsPerAgentPerFlushMax <= auditDenialsPerTenantPerFlushMax, "agent cap within the tenant cap");
assert(auditDenialsPerTenantPerFlushMax <= auditDenialsPerTenantPerMinuteMax, "window cap within the minute cap");
assert(auditFlushMs < auditMinuteMs, "windows are shorter than minutes");

/**
 * Most audit rows one tenant's denials can add in any interval of
 * `elapsedMs`: denial rows (each window and minute overlapping the interval
 * at most full) plus one summary row per `auditFlushMs`, plus the final one
 * of a shutdown.
 *
 * @param elapsedMs length of the interval, ms
 * @returns the bound, rows
 * @example
 * ```ts
 * import { auditDenialRowsMax } from "./audit_denials.ts";
 * auditDenialRowsMax(10_000); // 2400 denial rows + 52 summary rows
 * ```
 */
export function auditDenialRowsMax(elapsedMs: number): number {
  const minutes = Math.floor(elapsedMs / auditMinuteMs) + 2;
  const windows = Math.floor(elapsedMs / auditFlushMs) + 2;
  const denialRows = Math.min(minutes * auditDenialsPerTenantPerMinuteMax, windows * auditDenialsPerTenantPerFlushMax);
  return denialRows + windows;
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

class TenantWindow {
  windowStartMs: number;
  windowRows = 0;
  agentRows = new Map<string, number>();
  minuteStartMs: number;
  minuteRows = 0;
  suppressed = 0;
  suppressedAgents = new Map<string, number>();
  summaryAtMs = -Infinity;
  constructor(nowMs: number) {
    this.windowStartMs = nowMs;
    this.minuteStartMs = nowMs;
  }
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
  /** Denials given no row of their own, in all. */
  suppressedTotal = 0;
  /** Tenant entries dropped past `auditTenantsTrackedMax`. */
  tenantsEvicted = 0;
  readonly #tenants = new Map<string, TenantWindow>();
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
    if (now - t.windowStartMs >= auditFlushMs) {
      t.windowStartMs = now;
      t.windowRows = 0;
      t.agentRows.clear();
    }
    if (now - t.minuteStartMs >= auditMinuteMs) {
      t.minuteStartMs = now;
      t.minuteRows = 0;
    }
    const agentRows = t.agentRows.get(agentId) ?? 0;
    if (
      agentRows < auditDenialsPerAgentPerFlushMax && t.windowRows < auditDenialsPerTenantPerFlushMax &&
      t.minuteRows < auditDenialsPerTenantPerMinuteMax
    ) {
      t.agentRows.set(agentId, agentRows + 1);
      t.windowRows++;
      t.minuteRows++;
      return true;
    }
    t.suppressed++;
    t.suppressedAgents.set(agentId, (t.suppressedAgents.get(agentId) ?? 0) + 1);
    this.suppressedTotal++;
    return false;
  }

  /**
   * The summaries due: one per tenant with suppressed denials whose previous
   * summary is at least `auditFlushMs` old (every pending one when `final`).
   * Also drops the state of tenants idle for a minute.
   *
   * @param final take every pending count (shutdown)
   * @returns the rows to write, oldest tenant first
   */
  summaries(final = false): SuppressedDenials[] {
    const now = this.#now();
    const out: SuppressedDenials[] = [];
    for (const [tenantId, t] of this.#tenants) {
      if (t.suppressed > 0 && (final || now - t.summaryAtMs >= auditFlushMs)) {
        const agents = [...t.suppressedAgents].slice(0, auditSuppressedAgentsMax).map(([agentId, count]) => ({
          agentId,
          count,
        }));
        out.push({ tenantId, count: t.suppressed, agents, agentsOmitted: t.suppressedAgents.size - agents.length });
        t.suppressed = 0;
        t.suppressedAgents.clear();
        t.summaryAtMs = now;
      }
      const idle = now - t.minuteStartMs >= auditMinuteMs && now - t.windowStartMs >= auditFlushMs &&
        now - t.summaryAtMs >= auditFlushMs;
      if (t.suppressed === 0 && idle) {
        this.#tenants.delete(tenantId);
      }
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
      t = new TenantWindow(now);
      this.#tenants.set(tenantId, t);
    }
    return t;
  }
}
