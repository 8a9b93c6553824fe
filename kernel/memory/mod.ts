/**
 * The kernel memory arena: one fixed-size buffer that holds all agent data
 * the kernel keeps, with size-class free lists, coalescing and per-pid and
 * per-tenant quotas. This is the folder's only public entry.
 *
 * @example
 * ```ts
 * import { Arena } from "./mod.ts";
 *
 * const arena = new Arena({ capacityBytes: 1024 * 1024 });
 * arena.setQuota("pid", 7, 64 * 1024);
 * const block = arena.alloc(1000, { pid: 7, tenant: "acme" });
 * arena.view(block).fill(42);
 * arena.freeAllOf(7);
 * ```
 *
 * @module
 */

export {
  Arena,
  arenaBytesDefault,
  arenaBytesMax,
  arenaBytesMin,
  arenaPidMax,
  quotaEntriesMax,
  sizeClassBytesMax,
  sizeClassBytesMin,
  sizeClassLinearBytesStep,
  sizeClassPow2BytesMax,
} from "./arena.ts";
export type { ArenaBlock, ArenaOptions, ArenaOwner, ArenaOwnerKind, ArenaStats } from "./arena.ts";
