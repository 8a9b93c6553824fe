/**
 * A tenant's API keys: several at once, each with a name, an optional
 * expiry, its creation and last use; created (with an optional overlap
 * window that makes the tenant's other keys expire — rotation without a
 * flag day), listed (never the secret: a prefix to recognise it) and
 * revoked one by one. The admin or the tenant itself may manage a tenant's
 * keys; another tenant gets a 404. Every change is committed with its audit
 * row before the key cache forgets and before the answer.
 *
 * @module
 */

import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import { apiKeyExpiredKeptSec, apiKeysPerTenantMax } from "./limits.ts";
import type { KeyRow, Store } from "./store.ts";
import { hashKey, keyRecord, newKey, type Principal, type TenantKeys } from "./tenant_keys.ts";

/** `POST /v1/tenants/:id/keys` body, as validated. */
export interface KeyCreate {
  name?: string;
  expiresInSec?: number;
  overlapSec?: number;
}

/** A key as the API shows it: its record, whether it has expired, and whether it is the caller's. */
export type KeyView = KeyRow & { expired: boolean; current: boolean };

/** What a create answers: the tenant's id (as the rotate route always did), the secret (shown once) and the key. */
export interface KeyCreated {
  id: string;
  apiKey: string;
  key: KeyView;
  /** How many other keys were set to expire (with `overlapSec`). */
  expiring: number;
}

/** The key operations of the service. */
export class ApiKeys {
  #store: Store;
  #audit: AuditLog;
  #tenants: TenantKeys;

  /** @param store durable state, @param audit the audit log, @param tenants whose key cache forgets changed keys */
  constructor(store: Store, audit: AuditLog, tenants: TenantKeys) {
    this.#store = store;
    this.#audit = audit;
    this.#tenants = tenants;
  }

  /**
   * Create a key for a tenant; with `overlapSec`, its other keys expire after that window (0: now).
   *
   * @throws {ApiError} 404 for a tenant the caller may not see; 409 `too_many_keys` past `apiKeysPerTenantMax` (keys
   *   expired more than `apiKeyExpiredKeptSec` ago are revoked and do not count)
   * @example
   * ```ts
   * const { apiKey } = await keys.create(p, tenantId, { name: "ci", overlapSec: 3600 });
   * ```
   */
  async create(p: Principal, tenantId: string, body: KeyCreate): Promise<KeyCreated> {
    this.#allowed(p, tenantId);
    const expiresAtOf = (sec: number) => new Date(Date.now() + sec * 1000).toISOString();
    // Keys expired for a while only answer `key_expired`: they stop counting (revoked) so rotations do not pile up.
    const stale = new Date(Date.now() - apiKeyExpiredKeptSec * 1000).toISOString();
    const live = this.#store.keys.list(tenantId).filter((k) => k.expiresAt === null || k.expiresAt > stale);
    if (live.length >= apiKeysPerTenantMax) {
      throw new ApiError(
        409,
        "too_many_keys",
        `tenant ${tenantId} has ${live.length} keys (apiKeysPerTenantMax ${apiKeysPerTenantMax}): revoke one first`,
      );
    }
    const apiKey = newKey();
    const hash = await hashKey(apiKey);
    const expiresAt = body.expiresInSec === undefined ? null : expiresAtOf(body.expiresInSec);
    const key = keyRecord(apiKey, tenantId, body.name ?? "default", expiresAt);
    let expiring = 0;
    this.#store.transaction(() => {
      this.#store.keys.revokeExpired(tenantId, stale, key.createdAt);
      this.#store.insertKey(hash, key);
      if (body.overlapSec !== undefined) {
        expiring = this.#store.keys.expireOthers(tenantId, key.id, expiresAtOf(body.overlapSec));
      }
      const detail = { keyId: key.id, name: key.name, expiresAt, overlapSec: body.overlapSec ?? null };
      this.#audit.write(
        tenantId,
        p.tenant.id,
        body.overlapSec === undefined ? "key.created" : "key.rotated",
        tenantId,
        detail,
      );
    });
    this.#tenants.forgetKeys();
    return { id: tenantId, apiKey, key: view(key, p), expiring };
  }

  /**
   * A tenant's live keys, oldest first (expired ones marked, revoked ones gone).
   *
   * @throws {ApiError} 404 for a tenant the caller may not see
   * @example
   * ```ts
   * keys.list(p, tenantId).map((k) => k.name);
   * ```
   */
  list(p: Principal, tenantId: string): KeyView[] {
    this.#allowed(p, tenantId);
    return this.#store.keys.list(tenantId).map((k) => view(k, p));
  }

  /**
   * Revoke one key: it stops authenticating at once.
   *
   * @throws {ApiError} 404 for an unknown key or tenant; 409 `last_admin_key` for the admin's last working key
   * @example
   * ```ts
   * keys.revoke(p, tenantId, "key_0123…");
   * ```
   */
  revoke(p: Principal, tenantId: string, keyId: string): KeyView {
    const tenant = this.#allowed(p, tenantId);
    const live = this.#store.keys.list(tenantId);
    const key = live.find((k) => k.id === keyId);
    if (key === undefined) throw new ApiError(404, "not_found", `no live key ${keyId} in tenant ${tenantId}`);
    const working = live.filter((k) => !isExpired(k) && k.id !== keyId);
    if (tenant.admin && working.length === 0) {
      throw new ApiError(409, "last_admin_key", "this is the admin's last working key: create another one first");
    }
    this.#store.transaction(() => {
      this.#store.keys.revoke(tenantId, keyId, new Date().toISOString());
      this.#audit.write(tenantId, p.tenant.id, "key.revoked", tenantId, { keyId, name: key.name });
    });
    this.#tenants.forgetKeys();
    return view(key, p);
  }

  #allowed(p: Principal, tenantId: string) {
    const tenant = p.tenant.admin || p.tenant.id === tenantId ? this.#store.tenant(tenantId) : undefined;
    if (!tenant) throw new ApiError(404, "not_found", "no such tenant");
    return tenant;
  }
}

function isExpired(k: KeyRow): boolean {
  return k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now();
}

function view(k: KeyRow, p: Principal): KeyView {
  return { ...k, expired: isExpired(k), current: k.id === p.keyId };
}
