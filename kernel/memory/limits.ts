/**
 * Every limit of the kernel memory arena, in bytes or entries, with the
 * relations between them asserted when the module loads.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";

/**
 * Default arena size, bytes (64 MiB).
 *
 * @example
 * ```ts
 * import { arenaBytesDefault } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(arenaBytesDefault, 64 * 1024 * 1024);
 * ```
 */
export const arenaBytesDefault = 64 * 1024 * 1024;

/**
 * Smallest arena accepted, bytes (64 KiB: one block of the largest size class).
 *
 * @example
 * ```ts
 * import { Arena, arenaBytesMin } from "./mod.ts";
 *
 * new Arena({ capacityBytes: arenaBytesMin });
 * ```
 */
export const arenaBytesMin = 64 * 1024;

/**
 * Largest arena accepted, bytes (2 GiB: offsets are handled as 32-bit integers).
 *
 * @example
 * ```ts
 * import { arenaBytesMax } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(arenaBytesMax, 2 ** 31);
 * ```
 */
export const arenaBytesMax = 2 * 1024 * 1024 * 1024;

/**
 * Smallest size class and block granularity, bytes: offsets and capacities are multiples of it.
 *
 * @example
 * ```ts
 * import { Arena, sizeClassBytesMin } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 65536 });
 * assert.equal(arena.alloc(1, { pid: 1, tenant: "t" }).capacity, sizeClassBytesMin);
 * ```
 */
export const sizeClassBytesMin = 64;

/**
 * Largest power-of-two size class, bytes.
 *
 * @example
 * ```ts
 * import { Arena, sizeClassPow2BytesMax } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 65536 });
 * assert.equal(arena.alloc(4000, { pid: 1, tenant: "t" }).capacity, sizeClassPow2BytesMax);
 * ```
 */
export const sizeClassPow2BytesMax = 4 * 1024;

/**
 * Step between the linear size classes above the power-of-two ones, bytes.
 *
 * @example
 * ```ts
 * import { Arena, sizeClassLinearBytesStep } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 65536 });
 * assert.equal(arena.alloc(4097, { pid: 1, tenant: "t" }).capacity, sizeClassLinearBytesStep);
 * ```
 */
export const sizeClassLinearBytesStep = 8 * 1024;

/**
 * Largest segregated size class, bytes; free blocks above it live in the sorted index.
 *
 * @example
 * ```ts
 * import { Arena, sizeClassBytesMax } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new Arena({ capacityBytes: 1 << 20 });
 * assert.equal(arena.alloc(sizeClassBytesMax + 1, { pid: 1, tenant: "t" }).capacity, sizeClassBytesMax + 64);
 * ```
 */
export const sizeClassBytesMax = 64 * 1024;

/**
 * Most quota entries per kind (pids or tenants); setting more is a programmer error.
 *
 * @example
 * ```ts
 * import { quotaEntriesMax } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(quotaEntriesMax, 65_536);
 * ```
 */
export const quotaEntriesMax = 65_536;

/**
 * Largest pid the arena stores (pids live in an `Int32Array`).
 *
 * @example
 * ```ts
 * import { Arena, arenaPidMax } from "./mod.ts";
 *
 * new Arena({ capacityBytes: 65536 }).alloc(64, { pid: arenaPidMax, tenant: "t" });
 * ```
 */
export const arenaPidMax = 0x7fff_ffff;

/** Arena bytes one agent may hold (pipes, queues, segments); its tenant's `arenaBytesMax` bounds them all. */
export const arenaBytesPerAgentMax = 16 * 1024 * 1024;

/** Agents that can each hold `arenaBytesPerAgentMax` at once in a default arena. */
export const arenaAgentsFullMin = 4;

assert(
  arenaBytesDefault >= arenaAgentsFullMin * arenaBytesPerAgentMax,
  "the default arena must hold arenaAgentsFullMin agents at their full quota",
);
assert(arenaBytesMin >= sizeClassBytesMax, "an arena must hold its largest class");
assert(arenaBytesMax <= 2 ** 32 && arenaBytesDefault <= arenaBytesMax, "offsets must fit 32 bits");
assert(arenaBytesDefault % sizeClassBytesMin === 0, "default arena must be whole units");
