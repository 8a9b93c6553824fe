/**
 * The free index: every free block of the arena, by size, and coalescing.
 *
 * - Segregated lists: power-of-two lists for 64 B … 4 KiB and linear lists
 *   for 8 KiB … 64 KiB (see `size_classes.ts`); a 15-bit mask of non-empty
 *   lists finds the first list that can serve a class in O(1).
 * - Free blocks above 64 KiB live in an offset-sorted `Int32Array` searched
 *   by binary search and allocated address-ordered first fit (see `#large`
 *   for why an array and not a tree).
 *
 * Allocation carves the requested size off the tail of the chosen free
 * block, so the remainder keeps its offset (and its slot in the sorted
 * array when it stays large). A returned block coalesces with both
 * neighbours at once through their boundary tags, so no two free blocks are
 * ever adjacent and an empty arena is one free block.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";
import { blockCodes, type BlockTable } from "./block_table.ts";
import { classLayout, listIndexFor } from "./size_classes.ts";

// Module-local copies for the hot paths (see `blockCodes`).
const { nil, stateFree, stateNone } = blockCodes;
const { largeList, listCount, segregatedUnitsMax } = classLayout;

/**
 * Segregated free lists plus the ordered large-block index over one
 * `BlockTable`. Construction indexes the whole arena as one free block.
 *
 * @example
 * ```ts
 * import { BlockTable, blockCodes } from "./block_table.ts";
 * import { FreeIndex } from "./free_index.ts";
 * import assert from "node:assert/strict";
 *
 * const table = new BlockTable(2048);
 * const free = new FreeIndex(table);
 * const head = free.take(16); // 1 KiB, carved off the tail
 * assert.equal(head, 2048 - 16);
 * assert.equal(free.take(4096), blockCodes.nil); // larger than the arena
 * free.coalesce(head, 16);
 * assert.equal(free.largestUnits(), 2048);
 * ```
 */
export class FreeIndex {
  readonly #units: number;
  readonly #sizeUnits: Uint32Array;
  readonly #state: Uint8Array;
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
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

  /**
   * Indexes all of `table` as one free block.
   *
   * @param table the arena's block table, all zero
   */
  constructor(table: BlockTable) {
    this.#units = table.units;
    this.#sizeUnits = table.sizeUnits;
    this.#state = table.state;
    this.#next = table.next;
    this.#prev = table.prev;
    this.#listHead = new Int32Array(listCount).fill(nil);
    this.#large = new Int32Array(Math.floor(table.units / (segregatedUnitsMax + 1)) + 1);
    this.#insert(0, table.units);
  }

  /**
   * Finds a free block of at least `units` and carves them off its tail.
   * The carved block leaves the index with `stateNone` at its head and its
   * tags unset: the caller marks it used.
   *
   * @param units the size class wanted, in units (a result of `classUnitsFor`)
   * @returns the carved block's head, or `nil` if no free block is large enough
   */
  take(units: number): number {
    const list = listIndexFor(units);
    if (list !== largeList) {
      const mask = this.#listMask & (~0 << list);
      if (mask !== 0) {
        return this.#carve(this.#listHead[31 - Math.clz32(mask & -mask)], units);
      }
    }
    for (let i = 0; i < this.#largeCount; i++) {
      const head = this.#large[i];
      if (this.#sizeUnits[head] >= units) return this.#carve(head, units);
    }
    return nil;
  }

  /**
   * Returns the block of `units` at `head` (no longer used) to the index,
   * merged with its free neighbours.
   *
   * @param head the block's head unit
   * @param units its size in units
   * @throws {Error} (assertion) if the sorted index overflows or misses a block (a corrupted table)
   */
  coalesce(head: number, units: number): void {
    this.#state[head] = stateNone;
    let start = head;
    let size = units;
    const right = head + units;
    if (right < this.#units && this.#state[right] === stateFree) {
      size += this.#sizeUnits[right];
      this.#remove(right);
    }
    if (head > 0) {
      const leftUnits = this.#sizeUnits[head - 1];
      const left = head - leftUnits;
      if (this.#state[left] === stateFree) {
        if (leftUnits > segregatedUnitsMax) {
          this.#setTags(left, leftUnits + size); // grows in place in the sorted index
          return;
        }
        this.#remove(left);
        start = left;
        size += leftUnits;
      }
    }
    this.#insert(start, size);
  }

  /**
   * The largest free block. O(large blocks), or O(blocks of the largest
   * non-empty list) when there is none above 64 KiB.
   *
   * @returns its size in units, 0 when the arena is full
   */
  largestUnits(): number {
    let best = 0;
    for (let i = 0; i < this.#largeCount; i++) {
      best = Math.max(best, this.#sizeUnits[this.#large[i]]);
    }
    if (best > 0 || this.#listMask === 0) return best;
    for (let head = this.#listHead[31 - Math.clz32(this.#listMask)]; head !== nil; head = this.#next[head]) {
      best = Math.max(best, this.#sizeUnits[head]);
    }
    return best;
  }

  /** One bit per segregated list, set when the list is non-empty (for `checkInvariants`). */
  get listMask(): number {
    return this.#listMask;
  }

  /**
   * The first block of a segregated list (for `checkInvariants`).
   *
   * @param list a list index in [0, `listCount`)
   * @returns its head unit, or `nil` when the list is empty
   */
  listHead(list: number): number {
    return this.#listHead[list];
  }

  /** How many free blocks are above 64 KiB (for `checkInvariants`). */
  get largeCount(): number {
    return this.#largeCount;
  }

  /**
   * The `i`-th free block above 64 KiB by offset (for `checkInvariants`).
   *
   * @param i an index in [0, `largeCount`)
   * @returns its head unit
   */
  largeAt(i: number): number {
    return this.#large[i];
  }

  /** Splits `units` off the tail of free block `head`; returns the carved block's head. */
  #carve(head: number, units: number): number {
    const size = this.#sizeUnits[head];
    const rest = size - units;
    if (rest === 0) {
      this.#remove(head);
    } else if (size > segregatedUnitsMax && rest > segregatedUnitsMax) {
      this.#setTags(head, rest); // stays in the sorted index: its offset is unchanged
    } else {
      this.#remove(head);
      this.#insert(head, rest);
    }
    return head + rest;
  }

  #insert(head: number, units: number): void {
    this.#setTags(head, units);
    this.#state[head] = stateFree;
    const list = listIndexFor(units);
    if (list === largeList) {
      assert(this.#largeCount < this.#large.length, "sorted free index overflow");
      const at = this.#lowerBound(head);
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
  #remove(head: number): void {
    this.#state[head] = stateNone;
    const list = listIndexFor(this.#sizeUnits[head]);
    if (list === largeList) {
      const at = this.#lowerBound(head);
      assert(this.#large[at] === head, "free block missing from the sorted index");
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

  #setTags(head: number, units: number): void {
    this.#sizeUnits[head] = units;
    this.#sizeUnits[head + units - 1] = units;
  }

  /** First index of the sorted free index whose head is >= `head`. */
  #lowerBound(head: number): number {
    let lo = 0;
    let hi = this.#largeCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#large[mid] < head) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
