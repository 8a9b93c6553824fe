/**
 * Tenants and their API keys: the first start's admin tenant, bearer keys
 * resolved to a {@linkcode Principal} (through a bounded cache), tenants
 * created, listed and given quotas, keys rotated. Only a key's SHA-256 is
 * stored. Every change is written with its audit rows in one transaction
 * before the kernel and the key cache follow it (and before the answer).
 * Also the quotas a tenant gets by default and what the kernel's ledger
 * enforces of them.
 *
 * @module
 */

import { type TenantQuota, type TenantQuotas, tenantQuotasDefault } from "../kernel/tenants/mod.ts";
import type { Runtime } from "../sandbox/mod.ts";
import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import { newId, now } from "./ids.ts";
import type { KeyRow, Quotas, Store, TenantRow } from "./store.ts";
import { apiKeyTouchMs } from "./limits.ts";
import { sqliteCode } from "./store_errors.ts";

/** SQLite's primary result code of a constraint violation (a unique name taken meanwhile). */
const sqliteConstraint = 19;

/** Quotas a tenant gets unless an admin sets others: the kernel's tenant-wide quotas and per-agent ceilings. */
export const quotasDefault: Readonly<TenantQuotas & { outputBytes: number }> = Object.freeze({
  ...tenantQuotasDefault,
  /** Ceiling of an agent's `outputBytes`: output beyond what is kept is streamed, not stored, but still costs. */
  outputBytes: 16 * 1024 * 1024,
});

/** Resolved keys kept; past this the cache is emptied and fills again from the store. */
const keyCacheMax = 10_000;

/** Who is calling. */
export interface Principal {
  tenant: TenantRow;
  /** SHA-256 (hex) of the API key the caller used: the HTTP edge's rate and stream buckets. */
  keyHash: string;
  /** The id of that key (`GET /v1/tenants/:id/keys`). */
  keyId?: string;
}

/** What the key cache holds of a key. */
interface CachedKey {
  tenant: TenantRow;
  key: KeyRow;
  /** When its `lastUsedAt` was last written, epoch ms. */
  touchedMs: number;
}

/**
 * Admin only.
 *
 * @throws {ApiError} 403 `forbidden` unless `p` is the admin tenant
 */
export function requireAdmin(p: Principal): void {
  if (!p.tenant.admin) throw new ApiError(403, "forbidden", "admin key required");
}

/**
 * The kernel quotas of a tenant (what the runtime's ledger enforces): defaults with the admin's overrides.
 *
 * @param quotas the tenant's stored quotas
 * @returns every kernel quota, defaulted
 */
export function kernelQuotas(quotas: Quotas | undefined): TenantQuotas {
  const out: TenantQuotas = { ...tenantQuotasDefault };
  for (const key of Object.keys(tenantQuotasDefault) as TenantQuota[]) {
    const value = quotas?.[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** sha256 hex of an API key: the only form stored. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return new Uint8Array(digest).toHex();
}

/** A fresh secret. */
export function newKey(): string {
  return `aos_${crypto.getRandomValues(new Uint8Array(24)).toHex()}`;
}

/**
 * A key's record for a secret: a fresh id, the secret's first characters as its prefix (a third of a short
 * operator-chosen key at most).
 *
 * @param secret the key
 * @param tenantId its tenant
 * @param name its name
 * @param expiresAt when it stops working, or null
 * @returns the record to store
 * @example
 * ```ts
 * keyRecord(newKey(), "tn_1", "ci", null).prefix; // "aos_" and 8 hex digits
 * ```
 */
export function keyRecord(secret: string, tenantId: string, name: string, expiresAt: string | null): KeyRow {
  const prefix = secret.slice(0, Math.min(12, Math.floor(secret.length / 3)));
  return { id: newId("key"), tenantId, name, prefix, createdAt: now(), expiresAt, lastUsedAt: null };
}

/** The tenant and key operations of the service; the kernel's tenant table follows every quota change. */
export class TenantKeys {
  #runtime: Runtime;
  #store: Store;
  #audit: AuditLog;
  #keyCache = new Map<string, CachedKey>();

  /** @param runtime whose tenant table gets the quotas, @param store durable state, @param audit the audit log */
  constructor(runtime: Runtime, store: Store, audit: AuditLog) {
    this.#runtime = runtime;
    this.#store = store;
    this.#audit = audit;
  }

  /**
   * First start: create the admin tenant with `adminKey` or a generated key.
   * Returns the generated key (to print once) or undefined.
   */
  async bootstrap(adminKey: string | undefined): Promise<string | undefined> {
    if (this.#store.tenantCount() > 0) return undefined;
    const key = adminKey ?? newKey();
    const tenant: TenantRow = { id: newId("tn"), name: "admin", admin: true, quotas: {}, createdAt: now() };
    const hash = await hashKey(key);
    this.#store.transaction(() => {
      this.#store.insertTenant(tenant);
      this.#store.insertKey(hash, keyRecord(key, tenant.id, "admin", null));
      this.#audit.write(tenant.id, "system", "tenant.created", tenant.id, { name: "admin", admin: true });
    });
    return adminKey === undefined ? key : undefined;
  }

  /** Push every tenant's stored quotas into the kernel's tenant table. */
  loadQuotas(): void {
    for (const tenant of this.#store.tenants()) {
      this.#runtime.tenants.setQuotas(tenant.id, kernelQuotas(tenant.quotas));
    }
  }

  /**
   * Resolve a bearer header to a principal.
   *
   * @throws {ApiError} 401 `unauthorized` for a missing, malformed, unknown or revoked key; 401 `key_expired` for
   *   an expired one
   */
  async authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9_\-]{16,128})$/.exec(header ?? "");
    if (!match) throw new ApiError(401, "unauthorized", "missing or malformed Authorization: Bearer <key>");
    const hash = await hashKey(match[1]);
    let cached = this.#keyCache.get(hash);
    if (cached === undefined) {
      const found = this.#store.tenantForKey(hash);
      if (found === undefined) throw new ApiError(401, "unauthorized", "unknown or revoked API key");
      if (this.#keyCache.size > keyCacheMax) this.#keyCache.clear();
      cached = { ...found, touchedMs: 0 };
      this.#keyCache.set(hash, cached);
    }
    const { key, tenant } = cached;
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now()) {
      throw new ApiError(
        401,
        "key_expired",
        `API key ${key.name} (${key.prefix}…) expired at ${key.expiresAt}: use a newer key of this tenant, or ask ` +
          `its admin for one (POST /v1/tenants/${tenant.id}/keys)`,
      );
    }
    this.#touch(cached);
    return { tenant, keyHash: hash, keyId: key.id };
  }

  /** Record a key's use, at most once per `apiKeyTouchMs`; a store that refuses it does not fail the request. */
  #touch(cached: CachedKey): void {
    const nowMs = Date.now();
    if (nowMs - cached.touchedMs < apiKeyTouchMs) return;
    cached.touchedMs = nowMs;
    try {
      this.#store.keys.touch(cached.key.id, new Date(nowMs).toISOString());
    } catch {
      // `lastUsedAt` is a hint, not a record: the next minute writes it again.
    }
  }

  /** Forget every resolved key (after a key or quota change). */
  forgetKeys(): void {
    this.#keyCache.clear();
  }

  /** Create a tenant and its first key (shown once; admin). */
  async create(p: Principal, name: string, quotas: Quotas = {}): Promise<{ id: string; name: string; apiKey: string }> {
    requireAdmin(p);
    if (this.#store.tenantByName(name)) throw new ApiError(409, "conflict", `tenant ${name} exists`);
    const tenant: TenantRow = { id: newId("tn"), name, admin: false, quotas, createdAt: now() };
    const apiKey = newKey();
    const hash = await hashKey(apiKey);
    try {
      this.#store.transaction(() => {
        this.#store.insertTenant(tenant);
        this.#store.insertKey(hash, keyRecord(apiKey, tenant.id, "default", null));
        this.#audit.write(tenant.id, p.tenant.id, "tenant.created", tenant.id, { name, quotas });
        this.#audit.write(tenant.id, p.tenant.id, "key.issued", tenant.id, {});
      });
    } catch (err) {
      // Another request created the name while this one hashed its key.
      if (((sqliteCode(err) ?? 0) & 0xff) === sqliteConstraint && this.#store.tenantByName(name)) {
        throw new ApiError(409, "conflict", `tenant ${name} exists`);
      }
      throw err;
    }
    this.#runtime.tenants.setQuotas(tenant.id, kernelQuotas(quotas));
    return { id: tenant.id, name, apiKey };
  }

  /** All tenants (admin). */
  list(p: Principal): TenantRow[] {
    requireAdmin(p);
    return this.#store.tenants();
  }

  /** Replace quotas (admin). */
  patch(p: Principal, id: string, quotas: Quotas): TenantRow {
    requireAdmin(p);
    const tenant = this.#store.tenant(id);
    if (!tenant) throw new ApiError(404, "not_found", "no such tenant");
    this.#store.transaction(() => {
      this.#store.updateQuotas(id, quotas);
      this.#audit.write(id, p.tenant.id, "tenant.quotas_changed", id, { quotas });
    });
    this.#keyCache.clear();
    this.#runtime.tenants.setQuotas(id, kernelQuotas(quotas));
    return { ...tenant, quotas };
  }
}
