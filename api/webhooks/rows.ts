/**
 * Webhooks' durable records, in the server's SQLite database: the
 * registered endpoints (with their signing secrets) and the delivery log,
 * one row per attempt (or drop), bounded per endpoint.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";

/** A registered endpoint. */
export interface WebhookRow {
  id: string;
  tenantId: string;
  url: string;
  /** Event types, or `["*"]`. */
  events: string[];
  description: string | null;
  /** The HMAC key (never answered after creation or rotation). */
  secret: string;
  createdAt: string;
}

/** How one attempt ended. */
export type DeliveryOutcome = "delivered" | "retrying" | "failed" | "dropped";

/** One row of the delivery log. */
export interface DeliveryRow {
  /** Log position (the page cursor). */
  seq: number;
  webhookId: string;
  /** Stable across the retries of one delivery (the `x-agentos-delivery` header). */
  deliveryId: string;
  eventId: string;
  eventType: string;
  /** 1 for the first try; 0 for a delivery dropped before any attempt. */
  attempt: number;
  outcome: DeliveryOutcome;
  /** The receiver's HTTP status, or null when none came. */
  status: number | null;
  /** Why it failed (timeout, connection, refused address, queue full), or null. */
  error: string | null;
  durationMs: number;
  at: string;
  /** When the next attempt is due (`retrying` only). */
  nextRetryAt: string | null;
}

/** The tables (made by the store at open, idempotently). */
export const webhookSchema = `
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL, description TEXT,
  secret TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS webhooks_tenant ON webhooks(tenant_id, created_at);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id TEXT NOT NULL, delivery_id TEXT NOT NULL,
  event_id TEXT NOT NULL, event_type TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL,
  status INTEGER, error TEXT, duration_ms INTEGER NOT NULL, at TEXT NOT NULL, next_retry_at TEXT);
CREATE INDEX IF NOT EXISTS webhook_deliveries_hook ON webhook_deliveries(webhook_id, seq);
`;

type Row = Record<string, string | number | null>;

/** The `webhooks` and `webhook_deliveries` tables. */
export class WebhookRows {
  #db: DatabaseSync;
  /** Prepared once: the reads of every event and every attempt. */
  #listStmt: StatementSync | undefined;
  #byIdStmt: StatementSync | undefined;

  /** @param db the store's connection */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Insert an endpoint. */
  insert(w: WebhookRow): void {
    this.#db.prepare(
      "INSERT INTO webhooks (id, tenant_id, url, events, description, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(w.id, w.tenantId, w.url, JSON.stringify(w.events), w.description, w.secret, w.createdAt);
  }

  /** Replace an endpoint's secret. */
  setSecret(id: string, secret: string): void {
    this.#db.prepare("UPDATE webhooks SET secret = ? WHERE id = ?").run(secret, id);
  }

  /** Delete an endpoint and its log; whether there was one. */
  delete(id: string): boolean {
    this.#db.prepare("DELETE FROM webhook_deliveries WHERE webhook_id = ?").run(id);
    return Number(this.#db.prepare("DELETE FROM webhooks WHERE id = ?").run(id).changes) > 0;
  }

  /** One endpoint of `tenantId`. */
  get(id: string, tenantId: string): WebhookRow | undefined {
    const row = this.#db.prepare("SELECT * FROM webhooks WHERE id = ? AND tenant_id = ?").get(id, tenantId);
    return row === undefined ? undefined : toWebhook(row as Row);
  }

  /** An endpoint by id, whoever's (the delivery worker). */
  byId(id: string): WebhookRow | undefined {
    this.#byIdStmt ??= this.#db.prepare("SELECT * FROM webhooks WHERE id = ?");
    const row = this.#byIdStmt.get(id);
    return row === undefined ? undefined : toWebhook(row as Row);
  }

  /** The endpoints of `tenantId` (every tenant's for null), oldest first. */
  list(tenantId: string | null): WebhookRow[] {
    const sql = "SELECT * FROM webhooks WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY created_at, id";
    this.#listStmt ??= this.#db.prepare(sql);
    return (this.#listStmt.all(tenantId) as Row[]).map(toWebhook);
  }

  /** Append log rows, and cut each endpoint's log to `keepMax` rows. */
  log(rows: Omit<DeliveryRow, "seq">[], keepMax: number): void {
    const insert = this.#db.prepare(
      `INSERT INTO webhook_deliveries (webhook_id, delivery_id, event_id, event_type, attempt, outcome, status,
       error, duration_ms, at, next_retry_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const cut = this.#db.prepare(
      `DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND seq <= (SELECT seq FROM webhook_deliveries
       WHERE webhook_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
    );
    for (const r of rows) {
      insert.run(
        r.webhookId,
        r.deliveryId,
        r.eventId,
        r.eventType,
        r.attempt,
        r.outcome,
        r.status,
        r.error,
        r.durationMs,
        r.at,
        r.nextRetryAt,
      );
    }
    for (const id of new Set(rows.map((r) => r.webhookId))) cut.run(id, keepMax);
  }

  /** A page of an endpoint's log, newest first, below `beforeSeq`. */
  deliveries(webhookId: string, beforeSeq: number, limit: number): DeliveryRow[] {
    const rows = this.#db.prepare(
      "SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ).all(webhookId, beforeSeq, limit) as Row[];
    return rows.map(toDelivery);
  }
}

function toWebhook(r: Row): WebhookRow {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    url: String(r.url),
    events: JSON.parse(String(r.events)),
    description: r.description === null ? null : String(r.description),
    secret: String(r.secret),
    createdAt: String(r.created_at),
  };
}

function toDelivery(r: Row): DeliveryRow {
  return {
    seq: Number(r.seq),
    webhookId: String(r.webhook_id),
    deliveryId: String(r.delivery_id),
    eventId: String(r.event_id),
    eventType: String(r.event_type),
    attempt: Number(r.attempt),
    outcome: String(r.outcome) as DeliveryOutcome,
    status: r.status === null ? null : Number(r.status),
    error: r.error === null ? null : String(r.error),
    durationMs: Number(r.duration_ms),
    at: String(r.at),
    nextRetryAt: r.next_retry_at === null ? null : String(r.next_retry_at),
  };
}
