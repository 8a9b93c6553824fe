/**
 * Sessions' durable records, in the server's SQLite database beside agents:
 * what a session is (its labels, its current agent), how it ended, and the
 * tenant's list filtered by label. A session's REPL state lives only in its
 * agent's Worker: after a server restart an open session's record is ended
 * with reason `server_restarted`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { labelSql } from "./labels.ts";

/** A session's record. */
export interface SessionRow {
  id: string;
  tenantId: string;
  /** `open` while it can run cells; `ended` after a close, an eviction or a restart of the server. */
  state: "open" | "ended";
  /** Why it ended: `closed`, `idle`, `ttl`, `server_restarted`, `start_failed`. */
  reason: string | null;
  labels: Record<string, string>;
  /** The agent that hosts its context now (a restart or a lost context starts another). */
  agentId: string;
  executionCount: number;
  restarts: number;
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
}

const schema = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, labels TEXT NOT NULL,
  agent_id TEXT NOT NULL, execution_count INTEGER NOT NULL, restarts INTEGER NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, ended_at TEXT);
CREATE INDEX IF NOT EXISTS sessions_tenant ON sessions(tenant_id, created_at);
`;

type Row = Record<string, string | number | null>;

/** The `sessions` table. */
export class SessionRows {
  #db: DatabaseSync;

  /** @param db the store's connection (the table is made if missing) */
  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(schema);
  }

  /** Insert or replace a session's record. */
  put(s: SessionRow): void {
    this.#db.prepare(
      `INSERT OR REPLACE INTO sessions (id, tenant_id, state, reason, labels, agent_id, execution_count, restarts,
        created_at, expires_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      s.id,
      s.tenantId,
      s.state,
      s.reason,
      JSON.stringify(s.labels),
      s.agentId,
      s.executionCount,
      s.restarts,
      s.createdAt,
      s.expiresAt,
      s.endedAt,
    );
  }

  /** A session of `tenantId`, or undefined. */
  get(id: string, tenantId: string): SessionRow | undefined {
    const row = this.#db.prepare("SELECT * FROM sessions WHERE id = ? AND tenant_id = ?").get(id, tenantId);
    return row === undefined ? undefined : toSession(row as Row);
  }

  /**
   * A tenant's sessions, newest first, whose labels hold every `key=value`
   * (or `key`, for any value) of `labels`.
   */
  list(tenantId: string, q: { labels: [string, string | null][]; state?: string; limit: number }): SessionRow[] {
    let sql = "SELECT * FROM sessions WHERE tenant_id = ?";
    const params: (string | number)[] = [tenantId];
    if (q.state !== undefined) {
      sql += " AND state = ?";
      params.push(q.state);
    }
    const labels = labelSql(q.labels);
    sql += labels.sql;
    params.push(...labels.params);
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
    return (this.#db.prepare(sql).all(...params, q.limit) as Row[]).map(toSession);
  }

  /** Open sessions of tenant `tenantId` (all tenants for null). */
  openCount(tenantId: string): number {
    const row = this.#db.prepare("SELECT count(*) AS n FROM sessions WHERE tenant_id = ? AND state = 'open'")
      .get(tenantId) as Row;
    return Number(row.n);
  }

  /** End every session still open (the server restarted: their contexts are gone); returns how many. */
  endOpen(at: string): number {
    const r = this.#db.prepare(
      "UPDATE sessions SET state = 'ended', reason = 'server_restarted', ended_at = ? WHERE state = 'open'",
    ).run(at);
    return Number(r.changes);
  }

  /** Delete a tenant's oldest ended records beyond `keep`. */
  prune(tenantId: string, keep: number): void {
    this.#db.prepare(
      `DELETE FROM sessions WHERE tenant_id = ?1 AND state = 'ended' AND id NOT IN
        (SELECT id FROM sessions WHERE tenant_id = ?1 AND state = 'ended' ORDER BY ended_at DESC LIMIT ?2)`,
    ).run(tenantId, keep);
  }
}

function toSession(r: Row): SessionRow {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    state: r.state === "open" ? "open" : "ended",
    reason: r.reason === null ? null : String(r.reason),
    labels: JSON.parse(String(r.labels)),
    agentId: String(r.agent_id),
    executionCount: Number(r.execution_count),
    restarts: Number(r.restarts),
    createdAt: String(r.created_at),
    expiresAt: String(r.expires_at),
    endedAt: r.ended_at === null ? null : String(r.ended_at),
  };
}
