/**
 * Durable state in the embedded default: one SQLite file (`node:sqlite`) in
 * the data dir holding tenants, API-key hashes, agent records and the
 * append-only audit log. WAL mode with `synchronous = NORMAL`: a committed
 * write survives `kill -9` of the server (the OS holds it), which is what
 * "acknowledged" means here; it is not a power-loss guarantee (see
 * docs/design.md, "Tenancy and durability"). Errors are SQLite's own
 * (`api/store_errors.ts` turns them into 503s).
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openDatabase } from "./store_open.ts";
import { VolumeRows, volumeSchema } from "./volume_rows.ts";
import { TraceRows, traceSchema } from "./trace_rows.ts";
import { type KeyRow, KeyRows, migrateKeys } from "./key_rows.ts";
import { type LabelFilter, labelSql } from "./labels.ts";
import { WebhookRows, webhookSchema } from "./webhooks/mod.ts";

export { schemaVersion, StartupError, startupExitCode } from "./store_open.ts";
export { type TraceRow, TraceRows } from "./trace_rows.ts";

export type { AgentRow, AuditRow, PrunedAgents, PrunedAudit, Quotas, TenantRow } from "./store_rows.ts";
import { toAgent, toTenant } from "./store_rows.ts";
import type { AgentRow, AuditRow, PrunedAgents, PrunedAudit, Quotas, Row, TenantRow } from "./store_rows.ts";

const schema = `
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, admin INTEGER NOT NULL DEFAULT 0,
  quotas TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
  hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
  created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, pid INTEGER NOT NULL, state TEXT NOT NULL,
  reason TEXT, exit_code INTEGER, message TEXT, result TEXT, usage TEXT,
  stdout TEXT NOT NULL DEFAULT '', stderr TEXT NOT NULL DEFAULT '',
  capabilities TEXT NOT NULL, limits TEXT NOT NULL, created_at TEXT NOT NULL, ended_at TEXT);
CREATE INDEX IF NOT EXISTS agents_tenant ON agents(tenant_id, created_at, id);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, tenant_id TEXT, actor TEXT NOT NULL,
  action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit(tenant_id, seq);
CREATE INDEX IF NOT EXISTS agents_ended ON agents(ended_at);
`;

export type { VolumeRow } from "./volume_rows.ts";
export type { KeyRow } from "./key_rows.ts";

/** The SQLite-backed store. */
export class Store {
  #db: DatabaseSync;
  #begin: StatementSync | undefined;
  #commit: StatementSync | undefined;
  #rollback: StatementSync | undefined;
  #afterCommit: (() => void)[] = [];
  /** Agents' stored events (api/traces.ts writes them; retention deletes them with their records). */
  readonly traces: TraceRows;
  /** Volumes' records (api/volumes.ts). */
  readonly volumes: VolumeRows;
  /** API keys' records (api/tenant_keys.ts). */
  readonly keys: KeyRows;
  /** Webhook endpoints and their delivery log (api/webhooks/). */
  readonly webhooks: WebhookRows;

  /**
   * @param path SQLite file path: created (a fresh install) only if missing
   * @throws {StartupError} when the file is empty, corrupt, not SQLite, from a newer schema, or not writable
   */
  constructor(path: string) {
    this.#db = openDatabase(path, (db) => {
      db.exec(schema);
      db.exec(traceSchema);
      db.exec(volumeSchema);
      db.exec(webhookSchema);
      const columns = db.prepare("PRAGMA table_info(tenants)").all() as Row[];
      if (!columns.some((c) => c.name === "policy")) db.exec("ALTER TABLE tenants ADD COLUMN policy TEXT");
      const agentColumns = db.prepare("PRAGMA table_info(agents)").all() as Row[];
      if (!agentColumns.some((c) => c.name === "labels")) {
        db.exec("ALTER TABLE agents ADD COLUMN labels TEXT NOT NULL DEFAULT '{}'");
      }
      migrateKeys(db);
    });
    this.keys = new KeyRows(this.#db);
    this.traces = new TraceRows(this.#db);
    this.volumes = new VolumeRows(this.#db);
    this.webhooks = new WebhookRows(this.#db);
  }

  /**
   * Run `fn` once the transaction in progress commits (dropped if it rolls
   * back); at once when none is in progress. What a writer does to its
   * buffers once its rows are durable.
   */
  afterCommit(fn: () => void): void {
    if (this.#db.isTransaction) this.#afterCommit.push(fn);
    else fn();
  }

  /** Set (or clear with null) a tenant's policy document. */
  setPolicy(id: string, policy: unknown | null): void {
    this.#db.prepare("UPDATE tenants SET policy = ? WHERE id = ?").run(
      policy === null ? null : JSON.stringify(policy),
      id,
    );
  }

  /** Every tenant's policy document, where one is set. */
  policies(): { tenantId: string; policy: unknown }[] {
    const rows = this.#db.prepare("SELECT id, policy FROM tenants WHERE policy IS NOT NULL").all() as Row[];
    return rows.map((r) => ({ tenantId: String(r.id), policy: JSON.parse(String(r.policy)) }));
  }

  /** Close the database. */
  close(): void {
    this.#db.close();
  }

  /**
   * Run `fn` in one transaction: everything it writes is committed together
   * or not at all. Called inside another transaction, `fn` joins it (so
   * `audit` can be part of the state change it describes).
   *
   * @throws what `fn` or the commit threw — the first error, never a failed rollback's
   */
  transaction<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn();
    // Statements, not `exec`: their errors carry SQLite's result code (`errcode`).
    this.#begin ??= this.#db.prepare("BEGIN IMMEDIATE");
    this.#begin.run();
    this.#afterCommit = [];
    try {
      const value = fn();
      (this.#commit ??= this.#db.prepare("COMMIT")).run();
      const committed = this.#afterCommit;
      this.#afterCommit = [];
      for (const done of committed) done();
      return value;
    } catch (err) {
      this.#afterCommit = [];
      // SQLite rolls back by itself on some failures (SQLITE_FULL, most I/O errors); a second ROLLBACK would
      // throw "no transaction is active" and hide the error that matters.
      if (this.#db.isTransaction) {
        try {
          (this.#rollback ??= this.#db.prepare("ROLLBACK")).run();
        } catch { /* the first error is the one to report */ }
      }
      throw err;
    }
  }

  /** The connection: for the row stores of other resources in this database (`api/session_rows.ts`), and tests. */
  get db(): DatabaseSync {
    return this.#db;
  }

  /** Number of tenants. */
  tenantCount(): number {
    return Number((this.#db.prepare("SELECT count(*) AS n FROM tenants").get() as Row).n);
  }

  /** Insert a tenant. */
  insertTenant(t: TenantRow): void {
    this.#db.prepare("INSERT INTO tenants (id, name, admin, quotas, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(t.id, t.name, t.admin ? 1 : 0, JSON.stringify(t.quotas), t.createdAt);
  }

  /** Replace a tenant's quotas. */
  updateQuotas(id: string, quotas: Quotas): void {
    this.#db.prepare("UPDATE tenants SET quotas = ? WHERE id = ?").run(JSON.stringify(quotas), id);
  }

  /** A tenant by id. */
  tenant(id: string): TenantRow | undefined {
    const row = this.#db.prepare("SELECT * FROM tenants WHERE id = ?").get(id) as Row | undefined;
    return row && toTenant(row);
  }

  /** A tenant by name. */
  tenantByName(name: string): TenantRow | undefined {
    const row = this.#db.prepare("SELECT * FROM tenants WHERE name = ?").get(name) as Row | undefined;
    return row && toTenant(row);
  }

  /** All tenants. */
  tenants(): TenantRow[] {
    return (this.#db.prepare("SELECT * FROM tenants ORDER BY created_at, id").all() as Row[]).map(toTenant);
  }

  /** Store a key (its secret's hash and its record) for a tenant. */
  insertKey(hash: string, key: Omit<KeyRow, "lastUsedAt">): void {
    this.keys.insert(hash, key);
  }

  /** The live key a secret's hash is, with its tenant (expired keys included). */
  tenantForKey(hash: string): { key: KeyRow; tenant: TenantRow } | undefined {
    return this.keys.lookup(hash);
  }

  /**
   * A tenant's agents of a period: how many were created since `start`, and the CPU ms and syscalls of those that
   * ended since then (live ones are counted by the caller).
   */
  agentUsageSince(tenantId: string, start: string): { spawns: number; cpuMs: number; syscalls: number } {
    const row = this.#db.prepare(
      `SELECT SUM(created_at >= ?2) AS spawns,
              SUM(CASE WHEN ended_at >= ?2 THEN coalesce(json_extract(usage, '$.cpuMs'), 0) ELSE 0 END) AS cpu,
              SUM(CASE WHEN ended_at >= ?2 THEN coalesce(json_extract(usage, '$.syscalls'), 0) ELSE 0 END) AS calls
       FROM agents WHERE tenant_id = ?1 AND (created_at >= ?2 OR ended_at >= ?2)`,
    ).get(tenantId, start) as Row;
    return { spawns: Number(row.spawns ?? 0), cpuMs: Number(row.cpu ?? 0), syscalls: Number(row.calls ?? 0) };
  }

  /** Replace an agent's labels (`PATCH /v1/agents/:id`). */
  setAgentLabels(id: string, labels: Record<string, string>): void {
    this.#db.prepare("UPDATE agents SET labels = ? WHERE id = ?").run(JSON.stringify(labels), id);
  }

  /** Replace a live agent's recorded limits (`PATCH /v1/agents/:id`). */
  setAgentLimits(id: string, limits: unknown): void {
    this.#db.prepare("UPDATE agents SET limits = ? WHERE id = ?").run(JSON.stringify(limits), id);
  }

  /** Insert a new agent record. */
  insertAgent(a: AgentRow): void {
    this.#db.prepare(
      `INSERT INTO agents (id, tenant_id, pid, state, capabilities, limits, labels, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      a.id,
      a.tenantId,
      a.pid,
      a.state,
      JSON.stringify(a.capabilities),
      JSON.stringify(a.limits),
      JSON.stringify(a.labels),
      a.createdAt,
    );
  }

  /** Record how an agent ended. */
  finishAgent(
    a: Pick<
      AgentRow,
      "id" | "state" | "reason" | "exitCode" | "message" | "result" | "usage" | "stdout" | "stderr" | "endedAt"
    >,
  ): void {
    this.#db.prepare(
      `UPDATE agents SET state = ?, reason = ?, exit_code = ?, message = ?, result = ?, usage = ?,
       stdout = ?, stderr = ?, ended_at = ? WHERE id = ?`,
    ).run(
      a.state,
      a.reason,
      a.exitCode,
      a.message,
      JSON.stringify(a.result ?? null),
      JSON.stringify(a.usage),
      a.stdout,
      a.stderr,
      a.endedAt,
      a.id,
    );
  }

  /** An agent record, scoped to a tenant unless `tenantId` is null (admin). */
  agent(id: string, tenantId: string | null): AgentRow | undefined {
    const row =
      (tenantId === null
        ? this.#db.prepare("SELECT * FROM agents WHERE id = ?").get(id)
        : this.#db.prepare("SELECT * FROM agents WHERE id = ? AND tenant_id = ?").get(id, tenantId)) as Row | undefined;
    return row && toAgent(row);
  }

  /** A page of agent records, newest first. */
  agents(
    tenantId: string | null,
    filter: { state?: string; limit: number; before?: string; labels?: LabelFilter[] },
  ): AgentRow[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (tenantId !== null) where.push("tenant_id = ?"), params.push(tenantId);
    if (filter.state) where.push("state = ?"), params.push(filter.state);
    if (filter.before) where.push("(created_at || id) < ?"), params.push(filter.before);
    const labels = labelSql(filter.labels ?? []);
    if (labels.sql !== "") where.push(labels.sql.replace(/^ AND /, "")), params.push(...labels.params);
    const sql = `SELECT * FROM agents ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params, filter.limit) as Row[]).map(toAgent);
  }

  /** Mark every record still live as crashed (after a restart). Returns them. */
  crashUnfinished(at: string, message: string): AgentRow[] {
    const rows = (this.#db.prepare("SELECT * FROM agents WHERE ended_at IS NULL").all() as Row[]).map(toAgent);
    this.#db.prepare(
      "UPDATE agents SET state = 'Zombie', reason = 'crash', exit_code = 134, message = ?, ended_at = ? WHERE ended_at IS NULL",
    ).run(message, at);
    return rows;
  }

  /** Append audit records. */
  audit(rows: Omit<AuditRow, "seq">[]): void {
    if (rows.length === 0) return;
    const stmt = this.#db.prepare(
      "INSERT INTO audit (at, tenant_id, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.transaction(() => {
      for (const r of rows) {
        stmt.run(
          r.at,
          r.tenantId,
          r.actor,
          r.action,
          r.subject,
          r.detail === undefined ? null : JSON.stringify(r.detail),
        );
      }
    });
  }

  /** Audit records after `afterSeq`, scoped to a tenant unless null. */
  auditLog(tenantId: string | null, afterSeq: number, limit: number, action?: string): AuditRow[] {
    const where = ["seq > ?"];
    const params: (string | number)[] = [afterSeq];
    if (tenantId !== null) where.push("tenant_id = ?"), params.push(tenantId);
    if (action) where.push("action = ?"), params.push(action);
    const rows = this.#db.prepare(`SELECT * FROM audit WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`)
      .all(...params, limit) as Row[];
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: String(r.at),
      tenantId: r.tenant_id === null ? null : String(r.tenant_id),
      actor: String(r.actor),
      action: String(r.action),
      subject: r.subject === null ? null : String(r.subject),
      detail: r.detail === null ? null : JSON.parse(String(r.detail)),
    }));
  }

  // Retention (api/retention.ts): counts, and deletions in bounded batches, each with its checkpoint row.

  /** Agent records in all, and how many of the first `limit` that ended, ended before `beforeIso`. */
  agentRetention(beforeIso: string, limit: number): { records: number; aged: number } {
    const records = Number((this.#db.prepare("SELECT count(*) AS n FROM agents").get() as Row).n);
    const aged = Number(
      (this.#db.prepare("SELECT count(*) AS n FROM (SELECT 1 FROM agents WHERE ended_at < ? LIMIT ?)")
        .get(beforeIso, limit) as Row).n,
    );
    return { records, aged };
  }

  /**
   * Delete the records of the `n` agents that ended first (never one that
   * has not ended), their stored events, and write an `agents.pruned` audit
   * row saying which, in one transaction.
   *
   * @returns what went: count, trace events and the range of end times; null when nothing did
   */
  pruneAgents(n: number, at: string, reason: string, traceEventsMax = Infinity): PrunedAgents | null {
    return this.transaction(() => {
      const rows = this.#db.prepare(
        "SELECT rowid AS r, id, ended_at FROM agents WHERE ended_at IS NOT NULL ORDER BY ended_at, rowid LIMIT ?",
      ).all(n) as Row[];
      if (rows.length === 0) return null;
      const del = this.#db.prepare("DELETE FROM agents WHERE rowid = ?");
      let events = 0;
      let records = 0;
      // Stops once the batch deleted `traceEventsMax` trace events: one batch holds the event loop briefly.
      while (records < rows.length && events < traceEventsMax) {
        del.run(rows[records].r);
        events += this.traces.deleteAgent(String(rows[records++].id));
      }
      const pruned = {
        records,
        traceEvents: events,
        endedFrom: String(rows[0].ended_at),
        endedTo: String(rows[records - 1].ended_at),
      };
      this.#insertAudit(at, "agents.pruned", { ...pruned, reason });
      return pruned;
    });
  }

  /**
   * Audit rows in all (the log is only ever cut from its start, so its seqs
   * are one range), and how many of the first `limit` were written before
   * `beforeIso`, in order (the count stops at the first younger row).
   */
  auditRetention(beforeIso: string, limit: number): { rows: number; aged: number } {
    const first = (this.#db.prepare("SELECT min(seq) AS s FROM audit").get() as Row).s;
    if (first === null) return { rows: 0, aged: 0 };
    const last = Number((this.#db.prepare("SELECT max(seq) AS s FROM audit").get() as Row).s);
    const head = this.#db.prepare("SELECT at FROM audit ORDER BY seq LIMIT ?").all(limit) as Row[];
    let aged = 0;
    while (aged < head.length && String(head[aged].at) < beforeIso) aged++;
    return { rows: last - Number(first) + 1, aged };
  }

  /**
   * Delete the `n` oldest audit rows and write an `audit.pruned` row saying
   * which (count, seq range, time range), in one transaction.
   *
   * @returns what went; null when nothing did
   */
  pruneAudit(n: number, at: string, reason: string): PrunedAudit | null {
    return this.transaction(() => {
      const rows = this.#db.prepare("SELECT seq, at FROM audit ORDER BY seq LIMIT ?").all(n) as Row[];
      if (rows.length === 0) return null;
      const last = rows.at(-1)!;
      this.#db.prepare("DELETE FROM audit WHERE seq <= ?").run(last.seq);
      const pruned = {
        rows: rows.length,
        fromSeq: Number(rows[0].seq),
        toSeq: Number(last.seq),
        fromAt: String(rows[0].at),
        toAt: String(last.at),
      };
      this.#insertAudit(at, "audit.pruned", { ...pruned, reason });
      return pruned;
    });
  }

  /**
   * Give up to `pages` free pages back to the file system (only for a file
   * made with `auto_vacuum = INCREMENTAL`, as fresh installs are).
   *
   * @returns free pages left in the file (0 when it cannot give any back)
   */
  vacuumStep(pages: number): number {
    if (Number((this.#db.prepare("PRAGMA auto_vacuum").get() as Row).auto_vacuum) !== 2) return 0;
    // Each step of the statement frees one page: `all()` steps it through (`exec` stops after the first).
    this.#db.prepare(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`).all();
    return Number((this.#db.prepare("PRAGMA freelist_count").get() as Row).freelist_count);
  }

  #insertAudit(at: string, action: string, detail: unknown): void {
    this.#db.prepare(
      "INSERT INTO audit (at, tenant_id, actor, action, subject, detail) VALUES (?, NULL, ?, ?, NULL, ?)",
    )
      .run(at, "system", action, JSON.stringify(detail));
  }
}
