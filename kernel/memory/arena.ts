/**
 * The kernel memory arena: one preallocated `ArrayBuffer` that holds every
 * byte of agent data the kernel keeps (pipe buffers, queue messages, shared
 * memory segments), so the server's memory never grows with agent data.
 *
 * Layout. The arena is tiled by blocks whose offsets and sizes are multiples
 * of one 64-byte unit. Every block, free or used, carries a boundary tag: its
 * size in units is written at its first unit (head) and its last unit (tail)
 * of `#sizeUnits`, so a freed block finds its left neighbour in O(1) and
 * coalesces with both neighbours at once. After everything is freed the
 * arena is therefore one free block again.
 *
 * Free blocks are indexed by size:
 * - power-of-two lists for 64 B, 128 B … 4 KiB and linear lists for 8 KiB,
 *   16 KiB … 64 KiB; list `i` holds free blocks of at least class `i`'s size
 *   and less than class `i + 1`'s, so any member satisfies a request of
 *   class `i` and a 15-bit mask of non-empty lists finds the next one in O(1);
 * - free blocks above 64 KiB live in an offset-sorted `Int32Array` searched
 *   by binary search and allocated address-ordered first fit (see
 *   `#large` for why an array and not a tree).
 * Allocation carves the requested class off the tail of the chosen free
 * block, so the remainder keeps its offset (and its slot in the sorted
 * array when it stays large).
 *
 * Metadata lives in typed arrays indexed by unit and allocated once with the
 * arena: 25 bytes per 64-byte unit (≈ 39 % of `capacityBytes`), independent of
 * how many blocks are live. A used block's `next`/`prev` links chain it into
 * its pid's list (for `freeAllOf`); a free block's chain it into its free list.
 *
 * Accounting is by rounded block size (`capacity`), not requested size: that
 * is what the block withholds from everyone else, so quotas and `usage` count
 * it. Block contents are zeroed on `alloc`, so no data crosses owners.
 *
 * @module
 */

import { KernelError } from "../errno.ts";

/** Default arena size, bytes (64 MiB). */
export const arenaBytesDefault = 64 * 1024 * 1024;
/** Smallest arena accepted, bytes (64 KiB: one block of the largest size class). */
export const arenaBytesMin = 64 * 1024;
/** Largest arena accepted, bytes (2 GiB: offsets are handled as 32-bit integers). */
export const arenaBytesMax = 2 * 1024 * 1024 * 1024;
/** Smallest size class and block granularity, bytes: offsets and capacities are multiples of it. */
export const sizeClassBytesMin = 64;
/** Largest power-of-two size class, bytes. */
export const sizeClassPow2BytesMax = 4 * 1024;
/** Step between the linear size classes above the power-of-two ones, bytes. */
export const sizeClassLinearBytesStep = 8 * 1024;
/** Largest segregated size class, bytes; free blocks above it live in the sorted index. */
export const sizeClassBytesMax = 64 * 1024;
/** Most quota entries per kind (pids or tenants); setting more is a programmer error. */
export const quotaEntriesMax = 65_536;
/** Largest pid the arena stores (pids live in an `Int32Array`). */
export const arenaPidMax = 0x7fff_ffff;

const unitBytes = sizeClassBytesMin;
const pow2UnitsMax = sizeClassPow2BytesMax / unitBytes;
const linearUnitsStep = sizeClassLinearBytesStep / unitBytes;
const segregatedUnitsMax = sizeClassBytesMax / unitBytes;
const pow2Lists = 31 - Math.clz32(pow2UnitsMax) + 1;
const listCount = pow2Lists + segregatedUnitsMax / linearUnitsStep;
const largeList = -1;
const nil = -1;
const stateNone = 0;
const stateFree = 1;
const stateUsed = 2;
const idMax = 0xffff_ffff;
const zeroLoopBytesMax = 256;

function assertConstants(): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  assert(
    pow2(unitBytes) && pow2(pow2UnitsMax),
    "size classes must be powers of two",
  );
  assert(
    pow2UnitsMax * 2 === linearUnitsStep,
    "linear classes must continue the pow2 ones",
  );
  assert(
    segregatedUnitsMax % linearUnitsStep === 0,
    "largest class must be a linear step",
  );
  assert(
    arenaBytesMin >= sizeClassBytesMax,
    "an arena must hold its largest class",
  );
  assert(
    arenaBytesMax <= 2 ** 32 && arenaBytesDefault <= arenaBytesMax,
    "offsets must fit 32 bits",
  );
  assert(
    arenaBytesDefault % unitBytes === 0,
    "default arena must be whole units",
  );
  assert(listCount <= 31, "list mask must fit a 32-bit integer");
}
assertConstants();

/** The owner charged for a block. */
export interface ArenaOwner {
  /** Process id of the agent (0 ≤ pid ≤ `arenaPidMax`). */
  readonly pid: number;
  /** Tenant the agent runs for (non-empty). */
  readonly tenant: string;
}

/** A handle to one live allocation; pass it back to `view` and `free`. */
export interface ArenaBlock {
  /** Byte offset of the block in the arena (a multiple of 64). */
  readonly offset: number;
  /** Requested size, bytes: the length of `view(block)`. */
  readonly bytes: number;
  /** Rounded block size, bytes: what quotas and `usage` are charged. */
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

/** Options of `new Arena`. */
export interface ArenaOptions {
  /**
   * Size of the one buffer, bytes; a multiple of 64 in
   * [`arenaBytesMin`, `arenaBytesMax`].
   * @default {arenaBytesDefault} (64 MiB)
   */
  capacityBytes?: number;
}

/** A snapshot of the arena's counters. */
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

/** Which owner a quota or usage query is about. */
export type ArenaOwnerKind = "pid" | "tenant";

/**
 * A fixed-size allocator over one preallocated `ArrayBuffer`.
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
 * assert.equal(arena.usage("pid", 7), 128);
 * arena.free(block);
 * assert.equal(arena.stats().largestFreeBytes, 1024 * 1024);
 * ```
 */
export class Arena {
  /** Size of the arena, bytes. */
  readonly capacityBytes: number;
  readonly #data: Uint8Array;
  /** The same buffer as 8-byte words, for zeroing small blocks. */
  readonly #words: Float64Array;
  readonly #units: number;
  /** Boundary tags: block size in units at the head and the tail unit. */
  readonly #sizeUnits: Uint32Array;
  /** At a head unit: `stateFree` or `stateUsed`; `stateNone` everywhere else. */
  readonly #state: Uint8Array;
  /** Free-list links (free block) or pid-list links (used block), by head. */
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  /** Owner and allocation id of a used block, by head. */
  readonly #pid: Int32Array;
  readonly #tenant: Uint32Array;
  readonly #id: Uint32Array;
  /** Head of each segregated free list, and a bit per non-empty list. */
  readonly #listHead: Int32Array;
  #listMask = 0;
  /**
   * Heads of free blocks above 64 KiB, sorted by offset. Such blocks are
   * disjoint, larger than 64 KiB and never adjacent (they coalesce), so there
   * are at most `units / 1025 + 1` of them (1024 for 64 MiB): a flat
   * `Int32Array` gives O(log n) lookup by offset, a ≤ 4 KiB memmove per
   * insert/remove and a cache-friendly first-fit scan, with no per-node
   * objects; a balanced tree buys nothing measurable at this size.
   * Address-ordered first fit is also the low-fragmentation policy
   * (Johnstone & Wilson, 1998).
   */
  readonly #large: Int32Array;
  #largeCount = 0;
  /** What each pid holding memory holds; one record per pid, dropped at 0 bytes. */
  readonly #pids = new Map<number, PidHoldings>();
  readonly #pidQuota = new Map<number, number>();
  readonly #tenantQuota = new Map<string, number>();
  /** Interned tenant names; an index is released when its tenant holds 0 bytes. */
  readonly #tenantIndex = new Map<string, number>();
  readonly #tenantName: string[] = [];
  readonly #tenantBytes: number[] = [];
  readonly #tenantSpare: number[] = [];
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
   */
  constructor(options: ArenaOptions = {}) {
    const capacityBytes = options.capacityBytes ?? arenaBytesDefault;
    if (
      !(Number.isSafeInteger(capacityBytes) && capacityBytes % unitBytes === 0 &&
        capacityBytes >= arenaBytesMin && capacityBytes <= arenaBytesMax)
    ) {
      fail(
        `capacityBytes must be a multiple of ${unitBytes} in [${arenaBytesMin}, ${arenaBytesMax}]`,
      );
    }
    this.capacityBytes = capacityBytes;
    const buffer = new ArrayBuffer(capacityBytes);
    this.#data = new Uint8Array(buffer);
    this.#words = new Float64Array(buffer);
    const units = capacityBytes / unitBytes;
    this.#units = units;
    this.#sizeUnits = new Uint32Array(units);
    this.#state = new Uint8Array(units);
    this.#next = new Int32Array(units);
    this.#prev = new Int32Array(units);
    this.#pid = new Int32Array(units);
    this.#tenant = new Uint32Array(units);
    this.#id = new Uint32Array(units);
    this.#listHead = new Int32Array(listCount).fill(nil);
    this.#large = new Int32Array(
      Math.floor(units / (segregatedUnitsMax + 1)) + 1,
    );
    this.#insertFree(0, units);
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
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.alloc(5000, { pid: 1, tenant: "t" }).capacity; // 8192
   * ```
   */
  alloc(bytes: number, owner: ArenaOwner): ArenaBlock {
    assertOwner(owner);
    if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes <= 0) {
      throw new KernelError(
        "EINVAL",
        "arena.alloc: size must be a positive integer",
      );
    }
    if (bytes > this.capacityBytes) {
      throw new KernelError(
        "E2BIG",
        `arena.alloc: ${bytes} bytes exceeds the arena size`,
      );
    }
    const units = classUnitsFor(bytes);
    const capacity = units * unitBytes;
    const held = this.#pids.get(owner.pid);
    this.#checkQuota(owner, held?.bytes ?? 0, capacity);
    const head = this.#takeFree(units);
    if (head === nil) {
      this.#failures++;
      throw new KernelError(
        "ENOMEM",
        `arena.alloc: no free block of ${capacity} bytes`,
      );
    }
    this.#idLast = this.#idLast === idMax ? 1 : this.#idLast + 1;
    const id = this.#idLast;
    this.#markUsed(head, units, owner, id, held);
    const offset = head * unitBytes;
    this.#zero(offset, bytes);
    this.#allocs++;
    return {
      offset,
      bytes,
      capacity,
      pid: owner.pid,
      tenant: owner.tenant,
      id,
    };
  }

  /**
   * Returns a live block to the arena and coalesces it with free neighbours.
   *
   * @param block a handle returned by `alloc` and not yet freed
   * @throws {Error} (assertion) on a double free, a stale or a forged handle; the arena is left unchanged
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.free(arena.alloc(64, { pid: 1, tenant: "t" }));
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
   * const arena = new Arena({ capacityBytes: 65536 });
   * const block = arena.alloc(3, { pid: 1, tenant: "t" });
   * arena.view(block).set([1, 2, 3]);
   * ```
   */
  view(block: ArenaBlock): Uint8Array {
    this.#liveHead(block, "view");
    return this.#data.subarray(block.offset, block.offset + block.bytes);
  }

  /**
   * Sets or clears the most bytes (by capacity) a pid or a tenant may hold.
   * Lowering a quota below current usage revokes nothing; further
   * allocations of that owner fail with `ENOMEM` until usage drops.
   *
   * @param kind `"pid"` (key is a number) or `"tenant"` (key is a string)
   * @param key the pid or tenant
   * @param bytesMax the limit, or `undefined` for none
   * @throws {Error} (assertion) on a key of the wrong type, a negative or non-integer limit, or more than `quotaEntriesMax` entries
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.setQuota("tenant", "acme", 4096);
   * arena.setQuota("pid", 7, undefined);
   * ```
   */
  setQuota(
    kind: ArenaOwnerKind,
    key: number | string,
    bytesMax: number | undefined,
  ): void {
    assert(
      bytesMax === undefined ||
        (Number.isSafeInteger(bytesMax) && bytesMax >= 0),
      "setQuota: bytesMax must be a non-negative integer or undefined",
    );
    const quotas: Map<number | string, number> = kind === "pid" ? this.#pidQuota : this.#tenantQuota;
    assertKey(kind, key);
    if (bytesMax === undefined) {
      quotas.delete(key);
      return;
    }
    if (!(quotas.has(key) || quotas.size < quotaEntriesMax)) {
      fail(`setQuota: more than ${quotaEntriesMax} ${kind} quotas`);
    }
    quotas.set(key, bytesMax);
  }

  /**
   * Bytes a pid or tenant currently holds, counted by block capacity
   * (the rounded size class), which is what quotas limit.
   *
   * @param kind `"pid"` (key is a number) or `"tenant"` (key is a string)
   * @param key the pid or tenant
   * @returns bytes held, 0 for an unknown owner
   * @throws {Error} (assertion) on a key of the wrong type
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.alloc(100, { pid: 1, tenant: "t" });
   * arena.usage("tenant", "t"); // 128
   * ```
   */
  usage(kind: ArenaOwnerKind, key: number | string): number {
    assertKey(kind, key);
    if (kind === "pid") return this.#pids.get(key as number)?.bytes ?? 0;
    const index = this.#tenantIndex.get(key as string);
    return index === undefined ? 0 : this.#tenantBytes[index];
  }

  /**
   * Releases every block a pid holds (when its agent exits). Handles to
   * those blocks become stale: freeing one afterwards is a double free.
   *
   * @param pid the pid
   * @returns how many blocks and bytes (by capacity) were released
   * @example
   * ```ts
   * import { Arena } from "./mod.ts";
   * const arena = new Arena({ capacityBytes: 65536 });
   * arena.alloc(100, { pid: 1, tenant: "t" });
   * arena.freeAllOf(1); // { blocks: 1, bytes: 128 }
   * ```
   */
  freeAllOf(pid: number): { blocks: number; bytes: number } {
    assertKey("pid", pid);
    let blocks = 0;
    let bytes = 0;
    let head = this.#pids.get(pid)?.first ?? nil;
    while (head !== nil) {
      const next = this.#next[head];
      bytes += this.#sizeUnits[head] * unitBytes;
      this.#release(head);
      blocks++;
      head = next;
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
   * new Arena({ capacityBytes: 65536 }).stats().freeBytes; // 65536
   * ```
   */
  stats(): ArenaStats {
    const usedBytes = this.#usedUnits * unitBytes;
    return {
      capacityBytes: this.capacityBytes,
      usedBytes,
      freeBytes: this.capacityBytes - usedBytes,
      blocks: this.#blocks,
      largestFreeBytes: this.#largestFreeUnits() * unitBytes,
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
   * new Arena({ capacityBytes: 65536 }).checkInvariants();
   * ```
   */
  checkInvariants(): void {
    const walk = this.#checkTiling();
    this.#checkFreeIndex(walk.freeBlocks);
    this.#checkOwners(walk.pidBytes, walk.tenantBytes);
  }

  #checkQuota(owner: ArenaOwner, pidBytes: number, capacity: number): void {
    const pidMax = this.#pidQuota.get(owner.pid);
    if (pidMax !== undefined && pidBytes + capacity > pidMax) {
      this.#failures++;
      throw new KernelError(
        "ENOMEM",
        `arena.alloc: pid ${owner.pid} quota of ${pidMax} bytes exceeded`,
      );
    }
    const tenantMax = this.#tenantQuota.get(owner.tenant);
    if (
      tenantMax !== undefined &&
      this.usage("tenant", owner.tenant) + capacity > tenantMax
    ) {
      this.#failures++;
      throw new KernelError(
        "ENOMEM",
        `arena.alloc: tenant quota of ${tenantMax} bytes exceeded`,
      );
    }
  }

  /** Finds a free block of at least `units`, carves them off; returns the head or `nil`. */
  #takeFree(units: number): number {
    const list = listIndexFor(units);
    if (list !== largeList) {
      const mask = this.#listMask & (~0 << list);
      if (mask !== 0) {
        return this.#carve(
          this.#listHead[31 - Math.clz32(mask & -mask)],
          units,
        );
      }
    }
    for (let i = 0; i < this.#largeCount; i++) {
      const head = this.#large[i];
      if (this.#sizeUnits[head] >= units) return this.#carve(head, units);
    }
    return nil;
  }

  /** Splits `units` off the tail of free block `head`; returns the carved block's head. */
  #carve(head: number, units: number): number {
    const size = this.#sizeUnits[head];
    const rest = size - units;
    if (rest === 0) {
      this.#removeFree(head);
    } else if (size > segregatedUnitsMax && rest > segregatedUnitsMax) {
      this.#setTags(head, rest); // stays in the sorted index: its offset is unchanged
    } else {
      this.#removeFree(head);
      this.#insertFree(head, rest);
    }
    return head + rest;
  }

  #markUsed(
    head: number,
    units: number,
    owner: ArenaOwner,
    id: number,
    held: PidHoldings | undefined,
  ): void {
    const bytes = units * unitBytes;
    this.#setTags(head, units);
    this.#state[head] = stateUsed;
    this.#pid[head] = owner.pid;
    this.#tenant[head] = this.#tenantCharge(owner.tenant, bytes);
    this.#id[head] = id;
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
    this.#usedUnits += units;
    this.#blocks++;
  }

  /** Uncharges used block `head` from its owners and returns it to the free index. */
  #release(head: number): void {
    const units = this.#sizeUnits[head];
    const bytes = units * unitBytes;
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
    this.#usedUnits -= units;
    this.#blocks--;
    this.#state[head] = stateNone;
    this.#coalesce(head, units);
  }

  /** Merges the block at `head` with free neighbours and indexes the result. */
  #coalesce(head: number, units: number): void {
    let start = head;
    let size = units;
    const right = head + units;
    if (right < this.#units && this.#state[right] === stateFree) {
      size += this.#sizeUnits[right];
      this.#removeFree(right);
    }
    if (head > 0) {
      const leftUnits = this.#sizeUnits[head - 1];
      const left = head - leftUnits;
      if (this.#state[left] === stateFree) {
        if (leftUnits > segregatedUnitsMax) {
          this.#setTags(left, leftUnits + size); // grows in place in the sorted index
          return;
        }
        this.#removeFree(left);
        start = left;
        size += leftUnits;
      }
    }
    this.#insertFree(start, size);
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

  #setTags(head: number, units: number): void {
    this.#sizeUnits[head] = units;
    this.#sizeUnits[head + units - 1] = units;
  }

  #insertFree(head: number, units: number): void {
    this.#setTags(head, units);
    this.#state[head] = stateFree;
    const list = listIndexFor(units);
    if (list === largeList) {
      assert(
        this.#largeCount < this.#large.length,
        "sorted free index overflow",
      );
      const at = this.#largeLowerBound(head);
      this.#large.copyWithin(at + 1, at, this.#largeCount);
      this.#large[at] = head;
      this.#largeCount++;
      return;
    }
    const first = this.#listHead[list];
    this.#prev[head] = nil;
    this.#next[head] = first;
    if (first !== nil) this.#prev[first] = head;
    this.#listHead[list] = head;
    this.#listMask |= 1 << list;
  }

  /** Unindexes free block `head` (its size tags must still be current). */
  #removeFree(head: number): void {
    this.#state[head] = stateNone;
    const list = listIndexFor(this.#sizeUnits[head]);
    if (list === largeList) {
      const at = this.#largeLowerBound(head);
      assert(
        this.#large[at] === head,
        "free block missing from the sorted index",
      );
      this.#large.copyWithin(at, at + 1, this.#largeCount);
      this.#largeCount--;
      return;
    }
    const prev = this.#prev[head];
    const next = this.#next[head];
    if (next !== nil) this.#prev[next] = prev;
    if (prev !== nil) {
      this.#next[prev] = next;
    } else {
      this.#listHead[list] = next;
      if (next === nil) this.#listMask &= ~(1 << list);
    }
  }

  /** First index of the sorted free index whose head is >= `head`. */
  #largeLowerBound(head: number): number {
    let lo = 0;
    let hi = this.#largeCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#large[mid] < head) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #largestFreeUnits(): number {
    let best = 0;
    for (let i = 0; i < this.#largeCount; i++) {
      best = Math.max(best, this.#sizeUnits[this.#large[i]]);
    }
    if (best > 0 || this.#listMask === 0) return best;
    for (
      let head = this.#listHead[31 - Math.clz32(this.#listMask)];
      head !== nil;
      head = this.#next[head]
    ) {
      best = Math.max(best, this.#sizeUnits[head]);
    }
    return best;
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

  /** Asserts `block` is a live, unmodified handle; returns its head unit. Mutates nothing. */
  #liveHead(block: ArenaBlock, op: string): number {
    const offset = block?.offset;
    if (
      !(Number.isInteger(offset) && offset >= 0 && offset < this.capacityBytes &&
        offset % unitBytes === 0)
    ) fail(`arena.${op}: bad block offset`);
    const head = offset / unitBytes;
    if (!(this.#state[head] === stateUsed && this.#id[head] === block.id)) {
      fail(`arena.${op}: block ${block.id} at offset ${offset} is not live (double free or stale handle)`);
    }
    if (
      !(this.#sizeUnits[head] * unitBytes === block.capacity &&
        this.#pid[head] === block.pid &&
        this.#tenantName[this.#tenant[head]] === block.tenant &&
        Number.isInteger(block.bytes) &&
        block.bytes > 0 && block.bytes <= block.capacity)
    ) fail(`arena.${op}: block ${block.id} handle does not match the arena`);
    return head;
  }

  /** Walks blocks head to head; returns the free block count and per-owner bytes. */
  #checkTiling(): {
    freeBlocks: number;
    pidBytes: Map<number, number>;
    tenantBytes: Map<string, number>;
  } {
    const pidBytes = new Map<number, number>();
    const tenantBytes = new Map<string, number>();
    let freeBlocks = 0;
    let freeUnits = 0;
    let usedUnits = 0;
    let blocks = 0;
    let prevFree = false;
    let head = 0;
    while (head < this.#units) {
      const size = this.#sizeUnits[head];
      if (!(size >= 1 && head + size <= this.#units)) fail(`block at unit ${head} overlaps or overruns`);
      if (!(this.#sizeUnits[head + size - 1] === size)) fail(`block at unit ${head}: tail tag mismatch`);
      for (let i = head + 1; i < head + size; i++) {
        if (!(this.#state[i] === stateNone)) fail(`unit ${i} inside block ${head} is marked as a head`);
      }
      const state = this.#state[head];
      if (state === stateFree) {
        if (prevFree) fail(`adjacent free blocks at unit ${head} are not coalesced`);
        freeBlocks++;
        freeUnits += size;
      } else {
        if (!(state === stateUsed)) fail(`unit ${head} is not a block head`);
        const tenant = this.#tenantName[this.#tenant[head]];
        if (!(this.#tenantIndex.get(tenant) === this.#tenant[head])) fail(`block ${head}: bad tenant index`);
        pidBytes.set(
          this.#pid[head],
          (pidBytes.get(this.#pid[head]) ?? 0) + size * unitBytes,
        );
        tenantBytes.set(
          tenant,
          (tenantBytes.get(tenant) ?? 0) + size * unitBytes,
        );
        usedUnits += size;
        blocks++;
      }
      prevFree = state === stateFree;
      head += size;
    }
    assert(head === this.#units, "blocks do not tile the arena");
    assert(freeUnits + usedUnits === this.#units, "free + used != capacity");
    assert(
      usedUnits === this.#usedUnits && blocks === this.#blocks,
      "used counters disagree with blocks",
    );
    return { freeBlocks, pidBytes, tenantBytes };
  }

  /** Asserts the free lists and sorted index hold exactly the free blocks, each in its class. */
  #checkFreeIndex(freeBlocks: number): void {
    let seen = 0;
    for (let list = 0; list < listCount; list++) {
      const first = this.#listHead[list];
      if (!((first !== nil) === ((this.#listMask & (1 << list)) !== 0))) fail(`list ${list}: mask bit wrong`);
      let prev = nil;
      for (let head = first; head !== nil; head = this.#next[head]) {
        if (!(++seen <= freeBlocks)) fail(`list ${list}: more entries than free blocks (cycle?)`);
        if (!(this.#state[head] === stateFree)) fail(`list ${list}: block ${head} is not free`);
        if (!(listIndexFor(this.#sizeUnits[head]) === list)) fail(`list ${list}: block ${head} in wrong class`);
        if (!(this.#prev[head] === prev)) fail(`list ${list}: block ${head} has a bad back link`);
        prev = head;
      }
    }
    for (let i = 0; i < this.#largeCount; i++) {
      const head = this.#large[i];
      assert(
        i === 0 || this.#large[i - 1] < head,
        "sorted free index is not sorted",
      );
      if (!(this.#state[head] === stateFree)) fail(`sorted index: block ${head} is not free`);
      if (!(listIndexFor(this.#sizeUnits[head]) === largeList)) fail(`sorted index: block ${head} too small`);
      seen++;
    }
    if (!(seen === freeBlocks)) fail(`free index holds ${seen} blocks, arena has ${freeBlocks}`);
  }

  /** Asserts pid lists and per-owner counters agree with the walked blocks. */
  #checkOwners(
    pidBytes: Map<number, number>,
    tenantBytes: Map<string, number>,
  ): void {
    const pids = new Map<number, number>();
    for (const [pid, held] of this.#pids) pids.set(pid, held.bytes);
    assert(sameEntries(pidBytes, pids), "per-pid usage disagrees with blocks");
    const tenants = new Map<string, number>();
    for (const [tenant, index] of this.#tenantIndex) {
      tenants.set(tenant, this.#tenantBytes[index]);
    }
    assert(
      sameEntries(tenantBytes, tenants),
      "per-tenant usage disagrees with blocks",
    );
    let listed = 0;
    for (const [pid, held] of this.#pids) {
      let prev = nil;
      for (let head = held.first; head !== nil; head = this.#next[head]) {
        assert(
          ++listed <= this.#blocks,
          "pid lists hold more than the live blocks (cycle?)",
        );
        if (!(this.#state[head] === stateUsed && this.#pid[head] === pid)) fail(`pid ${pid}: bad list entry ${head}`);
        if (!(this.#prev[head] === prev)) fail(`pid ${pid}: block ${head} has a bad back link`);
        prev = head;
      }
    }
    assert(listed === this.#blocks, "pid lists miss live blocks");
  }
}

/** What one pid holds: the head of its used-block list, and bytes by capacity. */
interface PidHoldings {
  first: number;
  bytes: number;
}

/** Rounded size in units of a request of `bytes` (≥ 1): its size class. */
function classUnitsFor(bytes: number): number {
  const units = Math.ceil(bytes / unitBytes);
  if (units <= pow2UnitsMax) {
    return units === 1 ? 1 : 2 ** (32 - Math.clz32(units - 1));
  }
  if (units <= segregatedUnitsMax) {
    return Math.ceil(units / linearUnitsStep) * linearUnitsStep;
  }
  return units;
}

/** The list of a free block of `units`: the largest class ≤ `units`, or `largeList`. */
function listIndexFor(units: number): number {
  if (units < linearUnitsStep) return 31 - Math.clz32(units);
  if (units <= segregatedUnitsMax) {
    return pow2Lists - 1 + Math.floor(units / linearUnitsStep);
  }
  return largeList;
}

function sameEntries<K>(a: Map<K, number>, b: Map<K, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

function assertOwner(owner: ArenaOwner): void {
  assert(
    Number.isInteger(owner?.pid) && owner.pid >= 0 &&
      owner.pid <= arenaPidMax &&
      typeof owner.tenant === "string" && owner.tenant.length > 0,
    "arena: owner must be { pid: integer in [0, arenaPidMax], tenant: non-empty string }",
  );
}

function assertKey(kind: ArenaOwnerKind, key: number | string): void {
  if (kind === "pid") {
    assert(
      typeof key === "number" && Number.isInteger(key) && key >= 0 &&
        key <= arenaPidMax,
      "pid key must be a pid",
    );
  } else {
    assert(
      kind === "tenant" && typeof key === "string" && key.length > 0,
      "tenant key must be a non-empty string",
    );
  }
}

/** Asserts a programmer-error invariant; build dynamic messages with `fail` so they cost nothing when it holds. */
function assert(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

function fail(message: string): never {
  const error = new Error(`arena: ${message}`);
  error.name = "AssertionError";
  throw error;
}
