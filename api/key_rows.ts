/**
 * API keys' durable records, in the server's SQLite database: a tenant has
 * several, each stored as the SHA-256 of its secret with an id, a name, a
 * recognisable prefix of the secret, its creation, optional expiry, last use
 * and revocation. Keys of a database from before names were kept get an id
 * and the name `default` at open.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { toTenant } from "./store_rows.ts";
import type { Row, TenantRow } from "./store_rows.ts";

/** A key's record (never the secret). */
export interface KeyRow {
  id: string;
  tenantId: string;
  name: string;
  /** The first characters of the secret, to recognise it. */
  prefix: string;
  createdAt: string;
  /** When it stops authenticating (ISO 8601), or null: until revoked. */
  expiresAt: string | null;
  /** Last request it authenticated (recorded at most once a minute), or null. */
  lastUsedAt: string | null;
}

/** Columns added to the `keys` table of `api/store.ts` (additive: an older build still reads the table). */
const keyColumns: [string, string][] = [
  ["id", "TEXT"],
  ["name", "TEXT NOT NULL DEFAULT 'default'"],
  ["prefix", "TEXT NOT NULL DEFAULT ''"],
  ["expires_at", "TEXT"],
  ["last_used_at", "TEXT"],
];

/**
 * Bring the `keys` table to this build's columns (idempotent; inside the store's open transaction).
 *
 * @param db the store's connection
 * @example
 * ```ts
 * migrateKeys(db);
 * ```
 */
export function migrateKeys(db: DatabaseSync): void {
  const columns = new Set((db.prepare("PRAGMA table_info(keys)").all() as Row[]).map((c) => String(c.name)));
  for (const [name, type] of keyColumns) {
    if (!columns.has(name)) db.exec(`ALTER TABLE keys ADD COLUMN ${name} ${type}`);
  }
  db.exec("UPDATE keys SET id = 'key_' || lower(hex(randomblob(12))) WHERE id IS NULL");
  db.exec("CREATE UNIQUE INDEX IF NOT EXISTS keys_id ON keys(id)");
  db.exec("CREATE INDEX IF NOT EXISTS keys_tenant ON keys(tenant_id)");
}

function toKey(r: Row): KeyRow {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    name: String(r.name),
    prefix: String(r.prefix),
    createdAt: String(r.created_at),
    expiresAt: r.expires_at === null ? null : String(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : String(r.last_used_at),
  };
}

/** The `keys` table. */
export class KeyRows {
  #db: DatabaseSync;

  /** @param db the store's connection */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Insert a key's record under the hash of its secret. */
  insert(hash: string, k: Omit<KeyRow, "lastUsedAt">): void {
    this.#db.prepare(
      "INSERT INTO keys (hash, id, tenant_id, name, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(hash, k.id, k.tenantId, k.name, k.prefix, k.createdAt, k.expiresAt);
  }

  /** The live (not revoked) keys of a tenant, oldest first; expired ones included. */
  list(tenantId: string): KeyRow[] {
    const sql = "SELECT * FROM keys WHERE tenant_id = ? AND revoked_at IS NULL ORDER BY created_at, id";
    return (this.#db.prepare(sql).all(tenantId) as Row[]).map(toKey);
  }

  /** A live key by its secret's hash, with its tenant; expired ones included (the caller says `key_expired`). */
  lookup(hash: string): { key: KeyRow; tenant: TenantRow } | undefined {
    const row = this.#db.prepare(
      `SELECT t.*, k.id AS k_id, k.tenant_id AS k_tenant_id, k.name AS k_name, k.prefix AS k_prefix,
              k.created_at AS k_created_at, k.expires_at AS k_expires_at, k.last_used_at AS k_last_used_at
       FROM keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ? AND k.revoked_at IS NULL`,
    ).get(hash) as Row | undefined;
    if (row === undefined) return undefined;
    const key = toKey(Object.fromEntries(
      Object.entries(row).filter(([k]) => k.startsWith("k_")).map(([k, v]) => [k.slice(2), v]),
    ));
    return { key, tenant: toTenant(row) };
  }

  /** Revoke one key of a tenant; whether it was live. */
  revoke(tenantId: string, id: string, at: string): boolean {
    const r = this.#db.prepare("UPDATE keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL")
      .run(at, tenantId, id);
    return Number(r.changes) > 0;
  }

  /** Make every other live key of a tenant expire by `at` (one already expiring sooner keeps its time). */
  expireOthers(tenantId: string, keepId: string, at: string): number {
    const r = this.#db.prepare(
      `UPDATE keys SET expires_at = ?1 WHERE tenant_id = ?2 AND id != ?3 AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > ?1)`,
    ).run(at, tenantId, keepId);
    return Number(r.changes);
  }

  /** Revoke the keys of a tenant that expired before `before`; how many. */
  revokeExpired(tenantId: string, before: string, at: string): number {
    const r = this.#db.prepare(
      "UPDATE keys SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at < ?",
    ).run(at, tenantId, before);
    return Number(r.changes);
  }

  /** Record a key's use. */
  touch(id: string, at: string): void {
    this.#db.prepare("UPDATE keys SET last_used_at = ? WHERE id = ?").run(at, id);
  }
}
