/**
 * Webhooks for the API: tenants register endpoints for lifecycle events;
 * the service turns events into signed deliveries on the server's
 * {@linkcode DeliveryQueue}. A registration (and a secret rotation or a
 * delete) is durable with its audit row before it is answered. Raising an
 * event ({@linkcode WebhookService.emit}) is synchronous, cheap and never
 * throws: the kernel and the API never wait on a receiver.
 *
 * @module
 */

import { ApiError } from "../api_error.ts";
import type { AuditLog } from "../audit_log.ts";
import { newId, now } from "../ids.ts";
import type { Store } from "../store.ts";
import type { Principal } from "../tenant_keys.ts";
import { type EgressOptions, type PostResult, WebhookEgress } from "./egress.ts";
import { type Delivery, type DeliveryOptions, DeliveryQueue, type DeliveryStats } from "./queue.ts";
import type { DeliveryRow, WebhookRow } from "./rows.ts";
import {
  deliveryRowsPerWebhookMax,
  type WebhookCreate,
  type WebhookEventType,
  webhooksPerTenantMax,
} from "./schemas.ts";
import { newSecret, sign } from "./sign.ts";

/** The server's webhook options (`ServerOptions.webhooks`). */
export interface WebhookOptions extends Partial<DeliveryOptions>, Omit<EgressOptions, "reserved"> {
  /** Least time between two `quota.hit` events of one tenant, ms (the ones between are counted). @default 60000 */
  quotaHitIntervalMs?: number;
}

/** What the API answers for an endpoint (never its secret, except at creation and rotation). */
export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  createdAt: string;
}

/** The payload of every delivery. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  tenantId: string;
  data: Record<string, unknown>;
}

/** Log rows waiting for their transaction; past it rows are counted in `logRowsLost` (4× the default queue). */
const logRowsBufferedMax = 4096;
/** Most tenants whose last `quota.hit` time, or whose endpoints, are kept in memory (past it the map starts over). */
const quotaTenantsMax = 10_000;
const tenantsCachedMax = quotaTenantsMax;

/** The webhook half of the service. */
export class WebhookService {
  readonly queue: DeliveryQueue;
  readonly #store: Store;
  readonly #audit: AuditLog;
  readonly #egress: WebhookEgress;
  readonly #quotaIntervalMs: number;
  readonly #quotaLast = new Map<string, { atMs: number; suppressed: number }>();
  /** Each tenant's endpoints as last read (dropped at every change): an event reads no SQLite. */
  #hooksOf = new Map<string, WebhookRow[]>();
  /** Events or log writes the store refused (never thrown into the kernel). */
  storeErrors = 0;
  /** Log rows not written: the buffer was full, or the store refused them. */
  logRowsLost = 0;
  #logBuffer: Omit<DeliveryRow, "seq">[] = [];
  #logTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param reserved agentos's own endpoints (`runtime.policy.reservedEndpoint`)
   * @throws {RangeError} for an option out of range
   */
  constructor(
    store: Store,
    audit: AuditLog,
    reserved: (addr: Uint8Array, port: number) => string | null,
    options: WebhookOptions = {},
  ) {
    this.#store = store;
    this.#audit = audit;
    this.#egress = new WebhookEgress({ allowHosts: options.allowHosts, resolve: options.resolve, reserved });
    this.#quotaIntervalMs = options.quotaHitIntervalMs ?? 60_000;
    this.queue = new DeliveryQueue({
      send: (d, signal) => this.#send(d, signal),
      log: (rows) => this.#log(rows),
    }, options);
  }

  /**
   * Register an endpoint for the caller's tenant; its secret is answered this once.
   *
   * @throws {ApiError} 400 `invalid_url`/`egress_refused`, 409 `quota_webhooks`; a store failure (503)
   */
  create(p: Principal, body: WebhookCreate): WebhookView & { secret: string } {
    const url = this.#egress.checkUrl(body.url);
    const tenantId = p.tenant.id;
    const row: WebhookRow = {
      id: newId("wh"),
      tenantId,
      url,
      events: [...body.events],
      description: body.description ?? null,
      secret: newSecret(),
      createdAt: now(),
    };
    this.#store.transaction(() => {
      const held = this.#store.webhooks.list(tenantId).length;
      if (held >= webhooksPerTenantMax) {
        throw new ApiError(
          409,
          "quota_webhooks",
          `the tenant has ${held} webhooks (webhooksPerTenantMax ${webhooksPerTenantMax}); delete one first`,
        );
      }
      this.#store.webhooks.insert(row);
      this.#audit.write(tenantId, p.tenant.id, "webhook.created", row.id, { url, events: row.events });
    });
    this.#hooksOf.delete(tenantId);
    return { ...view(row), secret: row.secret };
  }

  /** The caller's endpoints, oldest first. */
  list(p: Principal): WebhookView[] {
    return this.#store.webhooks.list(p.tenant.id).map(view);
  }

  /** One of the caller's endpoints. @throws {ApiError} 404 */
  get(p: Principal, id: string): WebhookView {
    return view(this.#row(p, id));
  }

  /** Delete one of the caller's endpoints and its log; pending deliveries to it are not sent. @throws {ApiError} 404 */
  delete(p: Principal, id: string): void {
    const row = this.#row(p, id);
    this.#store.transaction(() => {
      this.#store.webhooks.delete(row.id);
      this.#audit.write(row.tenantId, p.tenant.id, "webhook.deleted", row.id, { url: row.url });
    });
    this.#hooksOf.delete(row.tenantId);
  }

  /** A new secret for one of the caller's endpoints, answered once; deliveries from now on use it. */
  rotateSecret(p: Principal, id: string): { id: string; secret: string; rotatedAt: string } {
    const row = this.#row(p, id);
    const secret = newSecret();
    const rotatedAt = now();
    this.#store.transaction(() => {
      this.#store.webhooks.setSecret(row.id, secret);
      this.#audit.write(row.tenantId, p.tenant.id, "webhook.secret_rotated", row.id, null);
    });
    return { id: row.id, secret, rotatedAt };
  }

  /** A page of an endpoint's delivery log, newest first; `next` is the cursor of the page after. */
  deliveries(
    p: Principal,
    id: string,
    q: { cursor?: string; limit?: number },
  ): { deliveries: Omit<DeliveryRow, "seq" | "webhookId">[]; next: string | null } {
    const row = this.#row(p, id);
    const limit = q.limit ?? 50;
    const rows = this.#store.webhooks.deliveries(row.id, q.cursor === undefined ? Infinity : Number(q.cursor), limit);
    const next = rows.length === limit ? String(rows[rows.length - 1].seq) : null;
    return { deliveries: rows.map(({ seq: _seq, webhookId: _id, ...rest }) => rest), next };
  }

  /**
   * Raise an event for `tenantId`: one delivery per endpoint subscribed to
   * it, queued. Never throws, never waits.
   */
  emit(tenantId: string, type: WebhookEventType, data: Record<string, unknown>): void {
    try {
      let all = this.#hooksOf.get(tenantId);
      if (all === undefined) {
        if (this.#hooksOf.size >= tenantsCachedMax) this.#hooksOf.clear();
        this.#hooksOf.set(tenantId, all = this.#store.webhooks.list(tenantId));
      }
      const hooks = all.filter((h) => h.events.includes("*") || h.events.includes(type));
      if (hooks.length === 0) return;
      const event: WebhookEvent = { id: newId("ev"), type, createdAt: now(), tenantId, data };
      const body = JSON.stringify(event);
      const atMs = Date.now();
      for (const h of hooks) {
        this.queue.push({
          deliveryId: newId("dl"),
          tenantId,
          webhookId: h.id,
          eventId: event.id,
          eventType: type,
          body,
          attempts: 0,
          queuedAtMs: atMs,
          dueAtMs: atMs,
        });
      }
    } catch {
      this.storeErrors++;
    }
  }

  /** A tenant quota refused something: `quota.hit`, at most once per `quotaHitIntervalMs` per tenant. */
  quotaHit(tenantId: string, data: Record<string, unknown>): void {
    const nowMs = Date.now();
    const last = this.#quotaLast.get(tenantId);
    if (last !== undefined && nowMs - last.atMs < this.#quotaIntervalMs) {
      last.suppressed++;
      return;
    }
    if (this.#quotaLast.size >= quotaTenantsMax) this.#quotaLast.clear();
    this.#quotaLast.set(tenantId, { atMs: nowMs, suppressed: 0 });
    this.emit(tenantId, "quota.hit", { ...data, suppressedBefore: last?.suppressed ?? 0 });
  }

  /** Delivery counters. */
  stats(): DeliveryStats & { logRowsLost: number } {
    return { ...this.queue.stats(), logRowsLost: this.logRowsLost };
  }

  /** Stop delivering (pending deliveries are logged as dropped). */
  async stop(): Promise<void> {
    await this.queue.stop();
    this.#flushLog();
  }

  async #send(d: Delivery, signal: AbortSignal): Promise<PostResult | null> {
    const hook = this.#store.webhooks.byId(d.webhookId);
    if (hook === undefined) return null;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: [string, string][] = [
      ["Content-Type", "application/json"],
      ["User-Agent", "agentos-webhooks/1"],
      ["x-agentos-event", d.eventType],
      ["x-agentos-delivery", d.deliveryId],
      ["x-agentos-timestamp", timestamp],
      ["x-agentos-signature", await sign(hook.secret, timestamp, d.body)],
    ];
    return await this.#egress.post(
      hook.url,
      headers,
      new TextEncoder().encode(d.body),
      this.queue.options.timeoutMs,
      signal,
    );
  }

  /** Buffer log rows; one transaction writes them after this turn (a full queue's drops cost no commit each). */
  #log(rows: Omit<DeliveryRow, "seq">[]): void {
    for (const r of rows) {
      if (this.#logBuffer.length >= logRowsBufferedMax) this.logRowsLost++;
      else this.#logBuffer.push(r);
    }
    this.#logTimer ??= setTimeout(() => this.#flushLog(), 0);
  }

  #flushLog(): void {
    clearTimeout(this.#logTimer);
    this.#logTimer = undefined;
    const rows = this.#logBuffer.splice(0);
    if (rows.length === 0) return;
    try {
      this.#store.transaction(() => {
        // An attempt that ended after its endpoint was deleted leaves no row (the log went with the endpoint).
        const live = new Set([...new Set(rows.map((r) => r.webhookId))].filter((id) => this.#store.webhooks.byId(id)));
        this.#store.webhooks.log(rows.filter((r) => live.has(r.webhookId)), deliveryRowsPerWebhookMax);
      });
    } catch {
      this.storeErrors++;
      this.logRowsLost += rows.length;
    }
  }

  #row(p: Principal, id: string): WebhookRow {
    const row = this.#store.webhooks.get(id, p.tenant.id);
    if (row === undefined) throw new ApiError(404, "not_found", `no webhook ${JSON.stringify(id.slice(0, 64))}`);
    return row;
  }
}

function view(row: WebhookRow): WebhookView {
  return { id: row.id, url: row.url, events: row.events, description: row.description, createdAt: row.createdAt };
}
