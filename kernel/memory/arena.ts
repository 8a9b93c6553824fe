/**
 * The kernel memory arena: one preallocated `ArrayBuffer` that holds every
 * byte of agent data the kernel keeps (pipe buffers, queue messages, shared
 * memory segments), so the server's memory never grows with agent data.
 *
 * `Arena` is the facade over the folder's parts: the block table
 * (`block_table.ts`: boundary tags and per-unit metadata), the size classes
 * (`size_classes.ts`), the free index (`free_index.ts`: segregated lists,
 * the ordered large-block index, coalescing), the owner ledger and quotas
 * (`owners.ts`, `quotas.ts`) and the invariant walk (`invariants.ts`).
 * Block contents are zeroed on `alloc`, so no data crosses owners.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import { fail } from "./_fail.ts";
import { blockCodes, BlockTable } from "./block_table.ts";
import { FreeIndex } from "./free_index.ts";
import { checkInvariants } from "./invariants.ts";
import { arenaBytesDefault, arenaBytesMax, arenaBytesMin } from "./limits.ts";
import { type ArenaOwner, assertOwner, assertPid, assertTenant, OwnerLedger } from "./owners.ts";
import { ArenaQuotas, quotaRefusal } from "./quotas.ts";
import { classLayout, classUnitsFor } from "./size_classes.ts";

// Module-local copies for the hot paths (see `blockCodes`).
const { nil, stateUsed } = blockCodes;
const { unitBytes } = classLayout;
const idMax = 0xffff_ffff;
const zeroLoopBytesMax = 256;

/**
 * A handle to one live allocation; pass it back to `view` and `free`.
 *
 * @example
 * ```ts
 * import { Arena, type ArenaBlock } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const block: ArenaBlock = new Arena({ capacityBytes: 65536 }).alloc(100, { pid: 1, tenant: "t" });
 * assert.deepEqual([block.bytes, block.capacity, block.pid, block.tenant], [100, 128, 1, "t"]);
 * ```
 */
export interface ArenaBlock {
  /** Byte offset of the block in the arena (a multiple of 64). */
  readonly offset: number;
  /** Requested size, bytes: the length of `view(block)`. */
  readonly bytes: number;
  /** Rounded block size, bytes: what quotas and usage are charged. */
  readonly capacity: number;
  /** Owning pid. */
  readonly pid: number;
  /** Owning tenant. */
  readonly tenant: string;
  /**
   * Allocation id: with `offset` it identifies this allocation, so a stale
   * handle to a reused offset is rejected (wraps after 2^32 - 1 allocations).
   */
  readonly id: number;
}

/**
 * Options of `new Arena`.
 *
 * @example
 * ```ts
 * import { Arena, type ArenaOptions } from "./mod.ts";
 *
 * const options: ArenaOptions = { capacityBytes: 1024 * 1024 };
 * new Arena(options);
 * ```
 */
export interface ArenaOptions {
  /**
   * Size of the one buffer, bytes; a multiple of 64 in
   * [`arenaBytesMin`, `arenaBytesMax`].
   * @default {arenaBytesDefault} (64 MiB)
   */
  capacityBytes?: number;
}

/**
 * A snapshot of the arena's counters.
 *
 * @example
 * ```ts
 * import { Arena, type ArenaStats } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const stats: ArenaStats = new Arena({ capacityBytes: 65536 }).stats();
 * assert.equal(stats.largestFreeBytes, 65536);
 * ```
 */
export interface ArenaStats {
  /** Size of the arena, bytes. */
  capacityBytes: number;
  /** Sum of live block capacities, bytes. */
  usedBytes: number;
  /** `capacityBytes - usedBytes`. */
  freeBytes: number;
  /** Live blocks. */
  blocks: number;
  /** Largest single free block, bytes (the largest allocation that can succeed). */
  largestFreeBytes: number;
  /** Successful allocations since construction. */
  allocs: number;
  /** Blocks released (by `free` or `freeAllOf`) since construction. */
  frees: number;
  /** Allocations refused with `ENOMEM` (arena full or quota exceeded). */
  failures: number;
}

/**
 * A fixed-size allocator over one preallocated `ArrayBuffer`, with per-pid
 * and per-tenant quotas (`arena.quotas`) and usage (`usageOfPid`,
 * `usageOfTenant`), counted by block capacity.
 *
 * @example
 * ```ts
 * import { Arena } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 1024 * 1024 });
 * const block = arena.alloc(100, { pid: 7, tenant: "acme" });
 * arena.view(block).set([1, 2, 3]);
 * assert.equal(block.capacity, 128);
 * assert.equal(arena.usageOfPid(7), 128);
 * arena.free(block);
 * assert.equal(arena.stats().largestFreeBytes, 1024 * 1024);
 * ```
 */
export class Arena {
  /** Size of the arena, bytes. */
  readonly capacityBytes: number;
  /** The most bytes each pid and tenant may hold; checked by `alloc`. */
  readonly quotas: ArenaQuotas = new ArenaQuotas();
  readonly #data: Uint8Array;
  /** The same buffer as 8-byte words, for zeroing small blocks. */
  readonly #words: Float64Array;
  readonly #table: BlockTable;
  readonly #sizeUnits: Uint32Array;
  readonly #state: Uint8Array;
  readonly #id: Uint32Array;
  readonly #pid: Int32Array;
  readonly #tenant: Uint32Array;
  readonly #free: FreeIndex;
  readonly #owners: OwnerLedger;
  #usedUnits = 0;
  #blocks = 0;
  #allocs = 0;
  #frees = 0;
  #failures = 0;
  #idLast = 0;

  /**
   * Allocates the buffer and all metadata once.
   *
   * @param options the arena size
   * @throws {Error} (assertion) if `capacityBytes` is not a multiple of 64 in [`arenaBytesMin`, `arenaBytesMax`]
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Arena().capacityBytes, 64 * 1024 * 1024);
   * assert.throws(() => new Arena({ capacityBytes: 1000 }), /multiple/);
   * ```
   */
  constructor(options: ArenaOptions = {}) {
    const capacityBytes = options.capacityBytes ?? arenaBytesDefault;
    if (
      !(Number.isSafeInteger(capacityBytes) && capacityBytes % unitBytes === 0 &&
        capacityBytes >= arenaBytesMin && capacityBytes <= arenaBytesMax)
    ) {
      fail(`capacityBytes must be a multiple of ${unitBytes} in [${arenaBytesMin}, ${arenaBytesMax}]`);
    }
    this.capacityBytes = capacityBytes;
    const buffer = new ArrayBuffer(capacityBytes);
    this.#data = new Uint8Array(buffer);
    this.#words = new Float64Array(buffer);
    this.#table = new BlockTable(capacityBytes / unitBytes);
    this.#sizeUnits = this.#table.sizeUnits;
    this.#state = this.#table.state;
    this.#id = this.#table.id;
    this.#pid = this.#table.pid;
    this.#tenant = this.#table.tenant;
    this.#free = new FreeIndex(this.#table);
    this.#owners = new OwnerLedger(this.#table);
  }

  /**
   * Allocates a zeroed block of at least `bytes` bytes charged to `owner`.
   *
   * The block is rounded up to its size class (64 B … 4 KiB by powers of
   * two, 8 KiB … 64 KiB by 8 KiB steps, above that to 64 B).
   *
   * @param bytes requested size, a positive integer
   * @param owner pid and tenant charged with the block's capacity
   * @returns a handle to the block
   * @throws {KernelError} `EINVAL` if `bytes` is not a positive integer
   * @throws {KernelError} `E2BIG` if `bytes` exceeds `capacityBytes`
   * @throws {KernelError} `ENOMEM` if the owner's pid or tenant quota would be exceeded or no free block is large enough
   * @throws {Error} (assertion) if `owner` is not a valid owner
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * assert.equal(arena.alloc(5000, { pid: 1, tenant: "t" }).capacity, 8192);
   * ```
   */
  alloc(bytes: number, owner: ArenaOwner): ArenaBlock {
    assertOwner(owner);
    if (!(typeof bytes === "number" && Number.isInteger(bytes) && bytes > 0 && bytes <= this.capacityBytes)) {
      badSize(bytes);
    }
    const units = classUnitsFor(bytes);
    const capacity = units * unitBytes;
    const held = this.#owners.holdings(owner.pid);
    const refusal = quotaRefusal(this.quotas, this.#owners, owner, held?.bytes ?? 0, capacity);
    if (refusal !== undefined) {
      this.#failures++;
      throw new KernelError("ENOMEM", refusal);
    }
    const head = this.#free.take(units);
    if (head === nil) {
      this.#failures++;
      noFreeBlock(capacity);
    }
    this.#idLast = this.#idLast === idMax ? 1 : this.#idLast + 1;
    const id = this.#idLast;
    this.#sizeUnits[head] = units;
    this.#sizeUnits[head + units - 1] = units;
    this.#state[head] = stateUsed;
    this.#id[head] = id;
    this.#owners.charge(head, owner, capacity, held);
    this.#usedUnits += units;
    this.#blocks++;
    const offset = head * unitBytes;
    this.#zero(offset, bytes);
    this.#allocs++;
    return { offset, bytes, capacity, pid: owner.pid, tenant: owner.tenant, id };
  }

  /**
   * Returns a live block to the arena and coalesces it with free neighbours.
   *
   * @param block a handle returned by `alloc` and not yet freed
   * @throws {Error} (assertion) on a double free, a stale or a forged handle; the arena is left unchanged
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * const block = arena.alloc(64, { pid: 1, tenant: "t" });
   * arena.free(block);
   * assert.throws(() => arena.free(block), /not live/);
   * ```
   */
  free(block: ArenaBlock): void {
    const head = this.#liveHead(block, "free");
    this.#release(head);
    this.#frees++;
  }

  /**
   * The block's bytes: a `Uint8Array` over the arena of the requested length.
   *
   * The view aliases arena memory and must not be used after `free`.
   *
   * @param block a live handle
   * @returns a subarray of `block.bytes` bytes at `block.offset`
   * @throws {Error} (assertion) if the handle is not live
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * const block = arena.alloc(3, { pid: 1, tenant: "t" });
   * arena.view(block).set([1, 2, 3]);
   * assert.deepEqual([...arena.view(block)], [1, 2, 3]);
   * ```
   */
  view(block: ArenaBlock): Uint8Array {
    this.#liveHead(block, "view");
    return this.#data.subarray(block.offset, block.offset + block.bytes);
  }

  /**
   * Bytes a pid currently holds, counted by block capacity (the rounded
   * size class), which is what its quota limits.
   *
   * @param pid an integer in [0, `arenaPidMax`]
   * @returns bytes held, 0 for a pid holding nothing
   * @throws {Error} (assertion) on a bad pid
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.alloc(100, { pid: 1, tenant: "t" });
   * assert.equal(arena.usageOfPid(1), 128);
   * ```
   */
  usageOfPid(pid: number): number {
    assertPid(pid);
    return this.#owners.pidBytes(pid);
  }

  /**
   * Bytes all pids of a tenant currently hold, counted by block capacity.
   *
   * @param tenant a non-empty tenant name
   * @returns bytes held, 0 for a tenant holding nothing
   * @throws {Error} (assertion) on a bad tenant
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.alloc(100, { pid: 1, tenant: "t" });
   * arena.alloc(100, { pid: 2, tenant: "t" });
   * assert.equal(arena.usageOfTenant("t"), 256);
   * ```
   */
  usageOfTenant(tenant: string): number {
    assertTenant(tenant);
    return this.#owners.tenantBytes(tenant);
  }

  /**
   * Releases every block a pid holds (when its agent exits). Handles to
   * those blocks become stale: freeing one afterwards is a double free.
   *
   * @param pid an integer in [0, `arenaPidMax`]
   * @returns how many blocks and bytes (by capacity) were released
   * @throws {Error} (assertion) on a bad pid
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.alloc(100, { pid: 1, tenant: "t" });
   * assert.deepEqual(arena.freeAllOf(1), { blocks: 1, bytes: 128 });
   * ```
   */
  freeAllOf(pid: number): { blocks: number; bytes: number } {
    assertPid(pid);
    const { next, sizeUnits } = this.#table;
    let blocks = 0;
    let bytes = 0;
    let head = this.#owners.firstOf(pid);
    while (head !== nil) {
      const after = next[head];
      bytes += sizeUnits[head] * unitBytes;
      this.#release(head);
      blocks++;
      head = after;
    }
    this.#frees += blocks;
    return { blocks, bytes };
  }

  /**
   * A snapshot of sizes and counters. O(free blocks of the largest non-empty class).
   *
   * @returns the counters
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Arena({ capacityBytes: 65536 }).stats().freeBytes, 65536);
   * ```
   */
  stats(): ArenaStats {
    const usedBytes = this.#usedUnits * unitBytes;
    return {
      capacityBytes: this.capacityBytes,
      usedBytes,
      freeBytes: this.capacityBytes - usedBytes,
      blocks: this.#blocks,
      largestFreeBytes: this.#free.largestUnits() * unitBytes,
      allocs: this.#allocs,
      frees: this.#frees,
      failures: this.#failures,
    };
  }

  /**
   * Walks the whole arena and asserts its invariants: blocks tile it without
   * overlap, boundary tags agree, no two free blocks are adjacent, free lists
   * and the sorted index hold exactly the free blocks in their right class,
   * and per-pid and per-tenant accounting sums to the used bytes. O(units).
   *
   * @throws {Error} (assertion) naming the first violated invariant
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   *
   * new Arena({ capacityBytes: 65536 }).checkInvariants();
   * ```
   */
  checkInvariants(): void {
    checkInvariants({
      table: this.#table,
      free: this.#free,
      owners: this.#owners,
      usedUnits: this.#usedUnits,
      blocks: this.#blocks,
    });
  }

  /** Uncharges used block `head` from its owners and returns it to the free index. */
  #release(head: number): void {
    const units = this.#sizeUnits[head];
    this.#owners.uncharge(head, units * unitBytes);
    this.#usedUnits -= units;
    this.#blocks--;
    this.#free.coalesce(head, units);
  }

  /**
   * Zeroes `bytes` at `offset`. Below `zeroLoopBytesMax` a loop of 8-byte
   * stores beats the `fill` builtin's call overhead by ~2× (measured); it may
   * round up to 8 bytes, which stays inside the block (capacities are ≥ 64).
   */
  #zero(offset: number, bytes: number): void {
    if (bytes > zeroLoopBytesMax) {
      this.#data.fill(0, offset, offset + bytes);
      return;
    }
    const end = (offset + bytes + 7) >>> 3;
    for (let word = offset >>> 3; word < end; word++) this.#words[word] = 0;
  }

  /** Asserts `block` is a live, unmodified handle; returns its head unit. Mutates nothing. */
  #liveHead(block: ArenaBlock, op: string): number {
    const offset = block?.offset;
    const head = offset / unitBytes;
    if (
      !(Number.isInteger(offset) && offset >= 0 && offset < this.capacityBytes && offset % unitBytes === 0 &&
        this.#state[head] === stateUsed && this.#id[head] === block.id &&
        this.#sizeUnits[head] * unitBytes === block.capacity && this.#pid[head] === block.pid &&
        this.#owners.tenantNameOf(this.#tenant[head]) === block.tenant &&
        Number.isInteger(block.bytes) && block.bytes > 0 && block.bytes <= block.capacity)
    ) this.#rejectHandle(block, op);
    return head;
  }

  /**
   * Throws the assertion `#liveHead` failed, naming the first check that
   * failed. Kept out of line so `#liveHead` stays small enough to inline
   * (measured: ~2 % fewer instructions per alloc+free).
   */
  #rejectHandle(block: ArenaBlock, op: string): never {
    const offset = block?.offset;
    if (
      !(Number.isInteger(offset) && offset >= 0 && offset < this.capacityBytes &&
        offset % unitBytes === 0)
    ) fail(`arena.${op}: bad block offset`);
    const head = offset / unitBytes;
    if (!(this.#state[head] === stateUsed && this.#id[head] === block.id)) {
      fail(`arena.${op}: block ${block.id} at offset ${offset} is not live (double free or stale handle)`);
    }
    fail(`arena.${op}: block ${block.id} handle does not match the arena`);
  }
}

/** Throws the `EINVAL` or `E2BIG` of a bad request size (out of line, like `#rejectHandle`). */
function badSize(bytes: number): never {
  if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes <= 0) {
    throw new KernelError("EINVAL", "arena.alloc: size must be a positive integer");
  }
  throw new KernelError("E2BIG", `arena.alloc: ${bytes} bytes exceeds the arena size`);
}

/** Throws the `ENOMEM` of an arena with no free block of `capacity` bytes. */
function noFreeBlock(capacity: number): never {
  throw new KernelError("ENOMEM", `arena.alloc: no free block of ${capacity} bytes`);
}
