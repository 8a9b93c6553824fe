/**
 * Owners: who is charged for each used block, and how much each pid and
 * tenant holds.
 *
 * Accounting is by rounded block size (capacity), not requested size: that
 * is what a block withholds from everyone else, so quotas and usage count
 * it. Each pid holding memory has one record (dropped at 0 bytes) with the
 * head of a list of its used blocks, linked through the block table, so
 * `Arena.freeAllOf` walks exactly that pid's blocks. Tenant names are
 * interned to small indices stored per block; an index is released when its
 * tenant holds 0 bytes.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";
import { blockCodes, type BlockTable } from "./block_table.ts";
import { arenaPidMax } from "./limits.ts";

// Module-local copies for the hot paths (see `blockCodes`).
const { nil } = blockCodes;
const pidMax = arenaPidMax;

/**
 * The owner charged for a block.
 *
 * @example
 * ```ts
 * import { Arena, type ArenaOwner } from "./mod.ts";
 *
 * const owner: ArenaOwner = { pid: 7, tenant: "acme" };
 * new Arena({ capacityBytes: 65536 }).alloc(64, owner);
 * ```
 */
export interface ArenaOwner {
  /** Process id of the agent (0 ≤ pid ≤ `arenaPidMax`). */
  readonly pid: number;
  /** Tenant the agent runs for (non-empty). */
  readonly tenant: string;
}

/**
 * What one pid holds: the head of its used-block list, and bytes by capacity.
 *
 * @example
 * ```ts
 * import { BlockTable } from "./block_table.ts";
 * import { OwnerLedger } from "./owners.ts";
 * import assert from "node:assert/strict";
 *
 * const owners = new OwnerLedger(new BlockTable(16));
 * owners.charge(2, { pid: 7, tenant: "acme" }, 64, undefined);
 * assert.deepEqual(owners.holdings(7), { first: 2, bytes: 64 });
 * ```
 */
export interface PidHoldings {
  /** Head unit of the pid's most recently allocated block. */
  first: number;
  /** Sum of the capacities of its blocks, bytes (> 0). */
  bytes: number;
}

/**
 * Asserts `owner` is a valid owner.
 *
 * @param owner the value to check
 * @throws {Error} (assertion) unless `owner` is `{ pid: integer in [0, arenaPidMax], tenant: non-empty string }`
 * @example
 * ```ts
 * import { assertOwner } from "./owners.ts";
 * import assert from "node:assert/strict";
 *
 * assertOwner({ pid: 1, tenant: "t" });
 * assert.throws(() => assertOwner({ pid: -1, tenant: "t" }), /owner/);
 * ```
 */
export function assertOwner(owner: ArenaOwner): void {
  assert(
    Number.isInteger(owner?.pid) && owner.pid >= 0 && owner.pid <= pidMax &&
      typeof owner.tenant === "string" && owner.tenant.length > 0,
    "arena: owner must be { pid: integer in [0, arenaPidMax], tenant: non-empty string }",
  );
}

/**
 * Asserts `pid` is a pid the arena can store.
 *
 * @param pid the value to check
 * @throws {Error} (assertion) unless `pid` is an integer in [0, `arenaPidMax`]
 * @example
 * ```ts
 * import { assertPid } from "./owners.ts";
 * import assert from "node:assert/strict";
 *
 * assertPid(0);
 * assert.throws(() => assertPid(1.5), /pid key/);
 * ```
 */
export function assertPid(pid: number): void {
  assert(
    typeof pid === "number" && Number.isInteger(pid) && pid >= 0 && pid <= pidMax,
    "pid key must be a pid",
  );
}

/**
 * Asserts `tenant` is a tenant name.
 *
 * @param tenant the value to check
 * @throws {Error} (assertion) unless `tenant` is a non-empty string
 * @example
 * ```ts
 * import { assertTenant } from "./owners.ts";
 * import assert from "node:assert/strict";
 *
 * assertTenant("acme");
 * assert.throws(() => assertTenant(""), /tenant key/);
 * ```
 */
export function assertTenant(tenant: string): void {
  assert(typeof tenant === "string" && tenant.length > 0, "tenant key must be a non-empty string");
}

/**
 * Per-pid and per-tenant holdings, and the owner fields of used blocks in
 * the block table (`pid`, `tenant`, and the pid-list links).
 *
 * @example
 * ```ts
 * import { BlockTable } from "./block_table.ts";
 * import { OwnerLedger } from "./owners.ts";
 * import assert from "node:assert/strict";
 *
 * const owners = new OwnerLedger(new BlockTable(16));
 * owners.charge(3, { pid: 7, tenant: "acme" }, 128, owners.holdings(7));
 * assert.equal(owners.pidBytes(7), 128);
 * assert.equal(owners.tenantBytes("acme"), 128);
 * owners.uncharge(3, 128);
 * assert.equal(owners.holdings(7), undefined);
 * ```
 */
export class OwnerLedger {
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #pid: Int32Array;
  readonly #tenant: Uint32Array;
  /** What each pid holding memory holds; one record per pid, dropped at 0 bytes. */
  readonly #pids = new Map<number, PidHoldings>();
  /** Interned tenant names; an index is released when its tenant holds 0 bytes. */
  readonly #tenantIndex = new Map<string, number>();
  readonly #tenantName: string[] = [];
  readonly #tenantBytes: number[] = [];
  readonly #tenantSpare: number[] = [];

  /**
   * A ledger with no holdings over `table`.
   *
   * @param table the arena's block table
   */
  constructor(table: BlockTable) {
    this.#next = table.next;
    this.#prev = table.prev;
    this.#pid = table.pid;
    this.#tenant = table.tenant;
  }

  /**
   * What `pid` holds, to pass on to `charge`.
   *
   * @param pid a valid pid
   * @returns its record, or `undefined` if it holds nothing
   */
  holdings(pid: number): PidHoldings | undefined {
    return this.#pids.get(pid);
  }

  /**
   * Charges the used block at `head` to `owner` and links it into the pid's list.
   *
   * @param head the block's head unit
   * @param owner a valid owner
   * @param bytes the block's capacity, bytes
   * @param held `holdings(owner.pid)`, looked up by the caller
   */
  charge(head: number, owner: ArenaOwner, bytes: number, held: PidHoldings | undefined): void {
    this.#pid[head] = owner.pid;
    this.#tenant[head] = this.#tenantCharge(owner.tenant, bytes);
    this.#prev[head] = nil;
    if (held === undefined) {
      this.#next[head] = nil;
      this.#pids.set(owner.pid, { first: head, bytes });
    } else {
      this.#next[head] = held.first;
      this.#prev[held.first] = head;
      held.first = head;
      held.bytes += bytes;
    }
  }

  /**
   * Uncharges the used block at `head` from its pid and tenant and unlinks it.
   *
   * @param head the block's head unit
   * @param bytes the block's capacity, bytes
   * @throws {Error} (assertion) if the block's pid holds nothing (a corrupted table)
   */
  uncharge(head: number, bytes: number): void {
    const pid = this.#pid[head];
    const held = this.#pids.get(pid);
    assert(held !== undefined, "used block of a pid holding nothing");
    const prev = this.#prev[head];
    const next = this.#next[head];
    if (next !== nil) this.#prev[next] = prev;
    if (prev !== nil) this.#next[prev] = next;
    else held.first = next;
    held.bytes -= bytes;
    if (held.bytes === 0) this.#pids.delete(pid);
    this.#tenantUncharge(this.#tenant[head], bytes);
  }

  /**
   * Bytes `pid` holds.
   *
   * @param pid a valid pid
   * @returns bytes by capacity, 0 if it holds nothing
   */
  pidBytes(pid: number): number {
    return this.#pids.get(pid)?.bytes ?? 0;
  }

  /**
   * Bytes `tenant` holds.
   *
   * @param tenant a valid tenant
   * @returns bytes by capacity, 0 if it holds nothing
   */
  tenantBytes(tenant: string): number {
    const index = this.#tenantIndex.get(tenant);
    return index === undefined ? 0 : this.#tenantBytes[index];
  }

  /**
   * The head of `pid`'s list of used blocks (follow `table.next`).
   *
   * @param pid a valid pid
   * @returns its most recent block's head, or `nil` if it holds nothing
   */
  firstOf(pid: number): number {
    return this.#pids.get(pid)?.first ?? nil;
  }

  /**
   * The tenant name of an interned index (as stored in `table.tenant`).
   *
   * @param index an index from `table.tenant`
   * @returns the name, `""` for a released index
   */
  tenantNameOf(index: number): string {
    return this.#tenantName[index];
  }

  /**
   * The interned index of a tenant holding memory (for `checkInvariants`).
   *
   * @param tenant a tenant name
   * @returns its index, or `undefined` if it holds nothing
   */
  tenantIndexOf(tenant: string): number | undefined {
    return this.#tenantIndex.get(tenant);
  }

  /**
   * Every pid holding memory (for `checkInvariants`).
   *
   * @returns `[pid, holdings]` pairs
   */
  pids(): IterableIterator<[number, PidHoldings]> {
    return this.#pids.entries();
  }

  /**
   * Every tenant holding memory (for `checkInvariants`).
   *
   * @returns `[tenant, bytes]` pairs
   */
  *tenants(): IterableIterator<[string, number]> {
    for (const [tenant, index] of this.#tenantIndex) yield [tenant, this.#tenantBytes[index]];
  }

  #tenantCharge(tenant: string, bytes: number): number {
    let index = this.#tenantIndex.get(tenant);
    if (index === undefined) {
      index = this.#tenantSpare.pop() ?? this.#tenantName.length;
      this.#tenantIndex.set(tenant, index);
      this.#tenantName[index] = tenant;
      this.#tenantBytes[index] = 0;
    }
    this.#tenantBytes[index] += bytes;
    return index;
  }

  #tenantUncharge(index: number, bytes: number): void {
    this.#tenantBytes[index] -= bytes;
    if (this.#tenantBytes[index] !== 0) return;
    this.#tenantIndex.delete(this.#tenantName[index]);
    this.#tenantName[index] = "";
    this.#tenantSpare.push(index);
  }
}
