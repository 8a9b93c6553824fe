/**
 * Quotas: the most bytes (by block capacity) a pid or a tenant may hold in
 * the arena, and the check `Arena.alloc` makes against them.
 *
 * Lowering a quota below current usage revokes nothing; further allocations
 * of that owner fail with `ENOMEM` until usage drops. At most
 * `quotaEntriesMax` pid quotas and as many tenant quotas exist at once.
 *
 * @module
 */

import { fail } from "./_fail.ts";
import { quotaEntriesMax } from "./limits.ts";
import { type ArenaOwner, assertPid, assertTenant, type OwnerLedger } from "./owners.ts";

/**
 * The quota table of one arena, reached as `arena.quotas`.
 *
 * @example
 * ```ts
 * import { Arena } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 65536 });
 * arena.quotas.setTenant("acme", 4096);
 * arena.quotas.setPid(7, 1024);
 * assert.equal(arena.quotas.pidBytesMax(7), 1024);
 * arena.quotas.clearPid(7);
 * assert.equal(arena.quotas.pidBytesMax(7), undefined);
 * ```
 */
export class ArenaQuotas {
  readonly #pid = new Map<number, number>();
  readonly #tenant = new Map<string, number>();

  /**
   * Sets the most bytes `pid` may hold.
   *
   * @param pid an integer in [0, `arenaPidMax`]
   * @param bytesMax the limit, a non-negative integer (0 refuses every allocation)
   * @throws {Error} (assertion) on a bad pid or limit, or a new entry beyond `quotaEntriesMax`
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.quotas.setPid(7, 128);
   * arena.alloc(100, { pid: 7, tenant: "acme" });
   * assert.throws(() => arena.alloc(1, { pid: 7, tenant: "acme" }), /quota/);
   * ```
   */
  setPid(pid: number, bytesMax: number): void {
    assertBytesMax("setPid", bytesMax);
    assertPid(pid);
    if (!(this.#pid.has(pid) || this.#pid.size < quotaEntriesMax)) {
      fail(`quotas.setPid: more than ${quotaEntriesMax} pid quotas`);
    }
    this.#pid.set(pid, bytesMax);
  }

  /**
   * Sets the most bytes all pids of `tenant` together may hold.
   *
   * @param tenant a non-empty tenant name
   * @param bytesMax the limit, a non-negative integer (0 refuses every allocation)
   * @throws {Error} (assertion) on a bad tenant or limit, or a new entry beyond `quotaEntriesMax`
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.quotas.setTenant("acme", 128);
   * arena.alloc(100, { pid: 1, tenant: "acme" });
   * assert.throws(() => arena.alloc(1, { pid: 2, tenant: "acme" }), /quota/);
   * ```
   */
  setTenant(tenant: string, bytesMax: number): void {
    assertBytesMax("setTenant", bytesMax);
    assertTenant(tenant);
    if (!(this.#tenant.has(tenant) || this.#tenant.size < quotaEntriesMax)) {
      fail(`quotas.setTenant: more than ${quotaEntriesMax} tenant quotas`);
    }
    this.#tenant.set(tenant, bytesMax);
  }

  /**
   * Removes `pid`'s quota, if any: it may then hold any free bytes (within its tenant's quota).
   *
   * @param pid an integer in [0, `arenaPidMax`]
   * @throws {Error} (assertion) on a bad pid
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.quotas.setPid(7, 0);
   * arena.quotas.clearPid(7);
   * arena.alloc(64, { pid: 7, tenant: "acme" });
   * ```
   */
  clearPid(pid: number): void {
    assertPid(pid);
    this.#pid.delete(pid);
  }

  /**
   * Removes `tenant`'s quota, if any.
   *
   * @param tenant a non-empty tenant name
   * @throws {Error} (assertion) on a bad tenant
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.quotas.setTenant("acme", 0);
   * arena.quotas.clearTenant("acme");
   * arena.alloc(64, { pid: 7, tenant: "acme" });
   * ```
   */
  clearTenant(tenant: string): void {
    assertTenant(tenant);
    this.#tenant.delete(tenant);
  }

  /**
   * The quota of `pid`. Not validated: an invalid pid simply has none.
   *
   * @param pid a pid
   * @returns its limit in bytes, or `undefined` for none
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * assert.equal(arena.quotas.pidBytesMax(7), undefined);
   * arena.quotas.setPid(7, 4096);
   * assert.equal(arena.quotas.pidBytesMax(7), 4096);
   * ```
   */
  pidBytesMax(pid: number): number | undefined {
    return this.#pid.get(pid);
  }

  /**
   * The quota of `tenant`. Not validated: an invalid name simply has none.
   *
   * @param tenant a tenant name
   * @returns its limit in bytes, or `undefined` for none
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.quotas.setTenant("acme", 4096);
   * assert.equal(arena.quotas.tenantBytesMax("acme"), 4096);
   * ```
   */
  tenantBytesMax(tenant: string): number | undefined {
    return this.#tenant.get(tenant);
  }
}

/**
 * Why a new block of `capacity` bytes for `owner` would exceed a quota.
 * The pid quota is checked first; the tenant's usage is only looked up when
 * the tenant has a quota.
 *
 * @param quotas the arena's quotas
 * @param owners the arena's ledger
 * @param owner a valid owner
 * @param pidBytes what `owner.pid` holds now, bytes
 * @param capacity the new block's capacity, bytes
 * @returns the `ENOMEM` message, or `undefined` when the block fits both quotas
 * @example
 * ```ts
 * import { BlockTable } from "./block_table.ts";
 * import { OwnerLedger } from "./owners.ts";
 * import { ArenaQuotas, quotaRefusal } from "./quotas.ts";
 * import assert from "node:assert/strict";
 *
 * const quotas = new ArenaQuotas();
 * quotas.setPid(1, 64);
 * const owners = new OwnerLedger(new BlockTable(16));
 * const owner = { pid: 1, tenant: "t" };
 * assert.equal(quotaRefusal(quotas, owners, owner, 0, 64), undefined);
 * assert.equal(quotaRefusal(quotas, owners, owner, 64, 64), "arena.alloc: pid 1 quota of 64 bytes exceeded");
 * ```
 */
export function quotaRefusal(
  quotas: ArenaQuotas,
  owners: OwnerLedger,
  owner: ArenaOwner,
  pidBytes: number,
  capacity: number,
): string | undefined {
  const pidMax = quotas.pidBytesMax(owner.pid);
  if (pidMax !== undefined && pidBytes + capacity > pidMax) {
    return `arena.alloc: pid ${owner.pid} quota of ${pidMax} bytes exceeded`;
  }
  const tenantMax = quotas.tenantBytesMax(owner.tenant);
  if (tenantMax !== undefined && owners.tenantBytes(owner.tenant) + capacity > tenantMax) {
    return `arena.alloc: tenant quota of ${tenantMax} bytes exceeded`;
  }
  return undefined;
}

function assertBytesMax(op: string, bytesMax: number): void {
  if (!(Number.isSafeInteger(bytesMax) && bytesMax >= 0)) {
    fail(`quotas.${op}: bytesMax must be a non-negative integer`);
  }
}
