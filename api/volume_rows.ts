/**
 * Volumes' durable records, in the server's SQLite database: a tenant's
 * named volume and its quota (its usage lives in memory, recounted from
 * disk at start).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** A volume's record. */
export type VolumeRow = { tenantId: string; name: string; quotaBytes: number; quotaFiles: number; createdAt: string };

/** The table (made by the store at open, idempotently). */
export const volumeSchema = `
CREATE TABLE IF NOT EXISTS volumes (
  tenant_id TEXT NOT NULL, name TEXT NOT NULL, quota_bytes INTEGER NOT NULL, quota_files INTEGER NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, name));
`;

type Row = Record<string, string | number | null>;

/** The `volumes` table. */
export class VolumeRows {
  #db: DatabaseSync;

  /** @param db the store's connection */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Insert a volume's record (a taken name is a constraint error). */
  insert(v: VolumeRow): void {
    this.#db.prepare(
      "INSERT INTO volumes (tenant_id, name, quota_bytes, quota_files, created_at) VALUES (?, ?, ?, ?, ?)",
    ).run(v.tenantId, v.name, v.quotaBytes, v.quotaFiles, v.createdAt);
  }

  /** Delete a volume's record; whether there was one. */
  delete(tenantId: string, name: string): boolean {
    const r = this.#db.prepare("DELETE FROM volumes WHERE tenant_id = ? AND name = ?").run(tenantId, name);
    return Number(r.changes) > 0;
  }

  /** The volumes of `tenantId` (every tenant's for null), by name. */
  list(tenantId: string | null): VolumeRow[] {
    const sql = "SELECT * FROM volumes WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY tenant_id, name";
    return (this.#db.prepare(sql).all(tenantId) as Row[]).map((r) => ({
      tenantId: String(r.tenant_id),
      name: String(r.name),
      quotaBytes: Number(r.quota_bytes),
      quotaFiles: Number(r.quota_files),
      createdAt: String(r.created_at),
    }));
  }
}
