/**
 * The arena's invariants, checked by walking all of it (`Arena.checkInvariants`):
 * blocks tile it without overlap, boundary tags agree, no two free blocks
 * are adjacent, the free lists and the sorted index hold exactly the free
 * blocks each in its class, and per-pid and per-tenant accounting and pid
 * lists agree with the used blocks. O(units); for tests and benchmarks.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";
import { fail } from "./_fail.ts";
import { blockCodes, type BlockTable } from "./block_table.ts";
import type { FreeIndex } from "./free_index.ts";
import type { OwnerLedger } from "./owners.ts";
import { classLayout, listIndexFor } from "./size_classes.ts";

const { nil, stateFree, stateNone, stateUsed } = blockCodes;
const { largeList, listCount, unitBytes } = classLayout;

/**
 * What an arena is made of, as far as its invariants are concerned.
 *
 * @example
 * ```ts
 * import { BlockTable } from "./block_table.ts";
 * import { FreeIndex } from "./free_index.ts";
 * import { type ArenaParts, checkInvariants } from "./invariants.ts";
 * import { OwnerLedger } from "./owners.ts";
 *
 * const table = new BlockTable(1024);
 * const parts: ArenaParts = { table, free: new FreeIndex(table), owners: new OwnerLedger(table), usedUnits: 0, blocks: 0 };
 * checkInvariants(parts);
 * ```
 */
export interface ArenaParts {
  /** The per-unit metadata. */
  readonly table: BlockTable;
  /** The free blocks. */
  readonly free: FreeIndex;
  /** The owners of the used blocks. */
  readonly owners: OwnerLedger;
  /** Units in used blocks, as counted by the arena. */
  readonly usedUnits: number;
  /** Used blocks, as counted by the arena. */
  readonly blocks: number;
}

/** What the walk over the blocks found. */
interface Walk {
  freeBlocks: number;
  pidBytes: Map<number, number>;
  tenantBytes: Map<string, number>;
}

/**
 * Asserts every invariant of an arena's parts.
 *
 * @param parts the arena's table, free index, ledger and counters
 * @throws {Error} (assertion) naming the first violated invariant
 * @example
 * ```ts
 * import { BlockTable } from "./block_table.ts";
 * import { FreeIndex } from "./free_index.ts";
 * import { checkInvariants } from "./invariants.ts";
 * import { OwnerLedger } from "./owners.ts";
 * import assert from "node:assert/strict";
 *
 * const table = new BlockTable(1024);
 * const parts = { table, free: new FreeIndex(table), owners: new OwnerLedger(table), usedUnits: 0, blocks: 0 };
 * checkInvariants(parts);
 * assert.throws(() => checkInvariants({ ...parts, blocks: 1 }), /used counters disagree/);
 * ```
 */
export function checkInvariants(parts: ArenaParts): void {
  const walk = checkTiling(parts);
  checkFreeIndex(parts, walk.freeBlocks);
  checkOwners(parts, walk);
}

/** Walks blocks head to head; returns the free block count and per-owner bytes. */
function checkTiling({ table, owners, usedUnits, blocks }: ArenaParts): Walk {
  const { sizeUnits, state, units } = table;
  const walk: Walk = { freeBlocks: 0, pidBytes: new Map(), tenantBytes: new Map() };
  let freeUnits = 0;
  let seenUsedUnits = 0;
  let seenBlocks = 0;
  let prevFree = false;
  let head = 0;
  while (head < units) {
    const size = sizeUnits[head];
    if (!(size >= 1 && head + size <= units)) fail(`block at unit ${head} overlaps or overruns`);
    if (!(sizeUnits[head + size - 1] === size)) fail(`block at unit ${head}: tail tag mismatch`);
    for (let i = head + 1; i < head + size; i++) {
      if (!(state[i] === stateNone)) fail(`unit ${i} inside block ${head} is marked as a head`);
    }
    if (state[head] === stateFree) {
      if (prevFree) fail(`adjacent free blocks at unit ${head} are not coalesced`);
      walk.freeBlocks++;
      freeUnits += size;
    } else {
      if (!(state[head] === stateUsed)) fail(`unit ${head} is not a block head`);
      const tenant = owners.tenantNameOf(table.tenant[head]);
      if (!(owners.tenantIndexOf(tenant) === table.tenant[head])) fail(`block ${head}: bad tenant index`);
      add(walk.pidBytes, table.pid[head], size * unitBytes);
      add(walk.tenantBytes, tenant, size * unitBytes);
      seenUsedUnits += size;
      seenBlocks++;
    }
    prevFree = state[head] === stateFree;
    head += size;
  }
  assert(head === units, "blocks do not tile the arena");
  assert(freeUnits + seenUsedUnits === units, "free + used != capacity");
  assert(seenUsedUnits === usedUnits && seenBlocks === blocks, "used counters disagree with blocks");
  return walk;
}

/** Asserts the free lists and sorted index hold exactly the free blocks, each in its class. */
function checkFreeIndex({ table, free }: ArenaParts, freeBlocks: number): void {
  const { sizeUnits, state, next, prev: back } = table;
  let seen = 0;
  for (let list = 0; list < listCount; list++) {
    const first = free.listHead(list);
    if (!((first !== nil) === ((free.listMask & (1 << list)) !== 0))) fail(`list ${list}: mask bit wrong`);
    let prev = nil;
    for (let head = first; head !== nil; head = next[head]) {
      if (!(++seen <= freeBlocks)) fail(`list ${list}: more entries than free blocks (cycle?)`);
      if (!(state[head] === stateFree)) fail(`list ${list}: block ${head} is not free`);
      if (!(listIndexFor(sizeUnits[head]) === list)) fail(`list ${list}: block ${head} in wrong class`);
      if (!(back[head] === prev)) fail(`list ${list}: block ${head} has a bad back link`);
      prev = head;
    }
  }
  for (let i = 0; i < free.largeCount; i++) {
    const head = free.largeAt(i);
    assert(i === 0 || free.largeAt(i - 1) < head, "sorted free index is not sorted");
    if (!(state[head] === stateFree)) fail(`sorted index: block ${head} is not free`);
    if (!(listIndexFor(sizeUnits[head]) === largeList)) fail(`sorted index: block ${head} too small`);
    seen++;
  }
  if (!(seen === freeBlocks)) fail(`free index holds ${seen} blocks, arena has ${freeBlocks}`);
}

/** Asserts pid lists and per-owner counters agree with the walked blocks. */
function checkOwners({ table, owners, blocks }: ArenaParts, walk: Walk): void {
  const pids = new Map<number, number>();
  for (const [pid, held] of owners.pids()) pids.set(pid, held.bytes);
  assert(sameEntries(walk.pidBytes, pids), "per-pid usage disagrees with blocks");
  assert(sameEntries(walk.tenantBytes, new Map(owners.tenants())), "per-tenant usage disagrees with blocks");
  let listed = 0;
  for (const [pid, held] of owners.pids()) {
    let prev = nil;
    for (let head = held.first; head !== nil; head = table.next[head]) {
      assert(++listed <= blocks, "pid lists hold more than the live blocks (cycle?)");
      if (!(table.state[head] === stateUsed && table.pid[head] === pid)) fail(`pid ${pid}: bad list entry ${head}`);
      if (!(table.prev[head] === prev)) fail(`pid ${pid}: block ${head} has a bad back link`);
      prev = head;
    }
  }
  assert(listed === blocks, "pid lists miss live blocks");
}

function add<K>(totals: Map<K, number>, key: K, bytes: number): void {
  totals.set(key, (totals.get(key) ?? 0) + bytes);
}

function sameEntries<K>(a: Map<K, number>, b: Map<K, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
