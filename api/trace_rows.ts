/**
 * The SQL of stored traces ({@linkcode TraceRows}): one row per stored
 * event of an agent (`agent_events`, unique on `(agent_id, seq)`) and the
 * event ids reserved ahead (`trace_meta`), so a restarted server never hands
 * out an id again. Used by `api/traces.ts` (writes in batches, reads pages)
 * and by retention (an agent's rows go with its record).
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";

/** The tables, made idempotently at every open. */
export const traceSchema = `
CREATE TABLE IF NOT EXISTS agent_events (
  agent_id TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL,
  error INTEGER NOT NULL DEFAULT 0, json TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS agent_events_seq ON agent_events(agent_id, seq);
CREATE TABLE IF NOT EXISTS trace_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** One stored event: its id, time, kind, whether it is an error, and its JSON (what SSE's `data:` carries). */
export interface TraceRow {
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  kind: string;
  error: boolean;
  json: string;
}

type Row = Record<string, string | number | null>;

/** The trace tables of one database. */
export class TraceRows {
  #db: DatabaseSync;
  #insert: StatementSync | undefined;
  #page: StatementSync | undefined;
  #delete: StatementSync | undefined;
  #exists: StatementSync | undefined;

  /** @param db the store's connection (its schema made with {@linkcode traceSchema}) */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Store events of agent `agentId` (a row with the same seq is replaced: a
   * `truncated` marker whose count grew). Call it inside a transaction.
   */
  insert(agentId: string, rows: readonly TraceRow[]): void {
    const stmt = this.#insert ??= this.#db.prepare(
      "INSERT OR REPLACE INTO agent_events (agent_id, seq, at, kind, error, json) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const r of rows) stmt.run(agentId, r.seq, r.at, r.kind, r.error ? 1 : 0, r.json);
  }

  /** At most `limit` events of `agentId` with `afterSeq < seq <= uptoSeq`, in seq order. */
  page(agentId: string, afterSeq: number, uptoSeq: number, limit: number): TraceRow[] {
    const stmt = this.#page ??= this.#db.prepare(
      "SELECT seq, at, kind, error, json FROM agent_events WHERE agent_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
    );
    return (stmt.all(agentId, afterSeq, uptoSeq, limit) as Row[]).map((r) => ({
      seq: Number(r.seq),
      at: Number(r.at),
      kind: String(r.kind),
      error: r.error === 1,
      json: String(r.json),
    }));
  }

  /** Whether agent `agentId` has a record (trace rows exist only beside one: retention deletes both). */
  hasRecord(agentId: string): boolean {
    const stmt = this.#exists ??= this.#db.prepare("SELECT 1 AS x FROM agents WHERE id = ?");
    return stmt.get(agentId) !== undefined;
  }

  /** Events stored for `agentId`. */
  count(agentId: string): number {
    return Number(
      (this.#db.prepare("SELECT count(*) AS n FROM agent_events WHERE agent_id = ?").get(agentId) as Row).n,
    );
  }

  /** Delete every stored event of `agentId` (retention, with its record). @returns rows deleted */
  deleteAgent(agentId: string): number {
    const stmt = this.#delete ??= this.#db.prepare("DELETE FROM agent_events WHERE agent_id = ?");
    return Number(stmt.run(agentId).changes);
  }

  /** The event ids reserved so far (every id handed out before, stored or not, is below it); 0 at first. */
  reservedSeq(): number {
    const row = this.#db.prepare("SELECT value FROM trace_meta WHERE key = 'seq_reserved'").get() as Row | undefined;
    const reserved = row === undefined ? 0 : Number(row.value);
    // Rows written by a build that kept no reservation still count.
    const stored = Number((this.#db.prepare("SELECT max(seq) AS s FROM agent_events").get() as Row).s ?? 0);
    return Math.max(reserved, stored);
  }

  /** Reserve event ids below `seq`. */
  reserve(seq: number): void {
    this.#db.prepare(
      "INSERT INTO trace_meta (key, value) VALUES ('seq_reserved', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(seq);
  }
}
