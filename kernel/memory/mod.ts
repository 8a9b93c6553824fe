/**
 * The kernel memory arena: one fixed-size buffer that holds all agent data
 * the kernel keeps, with size-class free lists, coalescing and per-pid and
 * per-tenant quotas. This is the folder's only public entry.
 *
 * | file              | concept                                                     |
 * |-------------------|-------------------------------------------------------------|
 * | `arena.ts`        | `Arena`: the facade (alloc, free, view, usage, stats)       |
 * | `limits.ts`       | every size and count limit, relations asserted at load      |
 * | `size_classes.ts` | rounding a request to its class; the list of a free block   |
 * | `block_table.ts`  | per-unit metadata: boundary tags, state, links, owner, id   |
 * | `free_index.ts`   | segregated free lists, ordered large index, coalescing      |
 * | `owners.ts`       | who holds each block; per-pid and per-tenant bytes          |
 * | `quotas.ts`       | `ArenaQuotas` (`arena.quotas`) and the check `alloc` makes   |
 * | `invariants.ts`   | the full walk behind `arena.checkInvariants()`              |
 *
 * @example
 * ```ts
 * import { Arena } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 1024 * 1024 });
 * arena.quotas.setPid(7, 64 * 1024);
 * arena.quotas.setTenant("acme", 256 * 1024);
 * const block = arena.alloc(1000, { pid: 7, tenant: "acme" });
 * arena.view(block).fill(42);
 * assert.equal(arena.usageOfTenant("acme"), 1024);
 * arena.freeAllOf(7);
 * arena.quotas.clearPid(7);
 * ```
 *
 * @module
 */

export { Arena } from "./arena.ts";
export type { ArenaBlock, ArenaOptions, ArenaStats } from "./arena.ts";
export {
  arenaAgentsFullMin,
  arenaBytesDefault,
  arenaBytesMax,
  arenaBytesMin,
  arenaBytesPerAgentMax,
  arenaPidMax,
  quotaEntriesMax,
  sizeClassBytesMax,
  sizeClassBytesMin,
  sizeClassLinearBytesStep,
  sizeClassPow2BytesMax,
} from "./limits.ts";
export type { ArenaOwner } from "./owners.ts";
export type { ArenaQuotas } from "./quotas.ts";
