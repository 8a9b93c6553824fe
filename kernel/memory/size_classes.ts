/**
 * Size classes: how a request is rounded, and which segregated free list a
 * free block of a given size belongs to.
 *
 * Sizes are counted in units of `sizeClassBytesMin` (64 B). Requests round
 * up to a power of two from 64 B to 4 KiB, to a multiple of 8 KiB from 8 KiB
 * to 64 KiB, and above that to a whole unit. Free list `i` holds free blocks
 * of at least class `i`'s size and less than class `i + 1`'s, so any member
 * satisfies a request of class `i`; blocks above 64 KiB belong to no list
 * (`largeList`) and live in the sorted index of `FreeIndex`.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";
import { sizeClassBytesMax, sizeClassBytesMin, sizeClassLinearBytesStep, sizeClassPow2BytesMax } from "./limits.ts";

// Module-local, not exported: see `blockCodes` for why hot code reads only its own module's constants.
const unitBytes = sizeClassBytesMin;
const pow2UnitsMax = sizeClassPow2BytesMax / unitBytes;
const linearUnitsStep = sizeClassLinearBytesStep / unitBytes;
const segregatedUnitsMax = sizeClassBytesMax / unitBytes;
const pow2Lists = 31 - Math.clz32(pow2UnitsMax) + 1;
const listCount = pow2Lists + segregatedUnitsMax / linearUnitsStep;
const largeList = -1;

const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
assert(pow2(unitBytes) && pow2(pow2UnitsMax), "size classes must be powers of two");
assert(pow2UnitsMax * 2 === linearUnitsStep, "linear classes must continue the pow2 ones");
assert(segregatedUnitsMax % linearUnitsStep === 0, "largest class must be a linear step");
assert(listCount <= 31, "list mask must fit a 32-bit integer");

/**
 * The unit layout other modules build on; copy the fields you use on a hot
 * path into module-local constants (`const { unitBytes } = classLayout;`).
 *
 * - `unitBytes`: bytes per unit, the block granularity (64).
 * - `segregatedUnitsMax`: units of the largest segregated class (1024 = 64 KiB).
 * - `listCount`: how many segregated free lists there are (7 powers of two + 8 linear = 15).
 * - `largeList`: what `listIndexFor` answers above the largest class (-1).
 *
 * @example
 * ```ts
 * import { classLayout, listIndexFor } from "./size_classes.ts";
 * import assert from "node:assert/strict";
 *
 * const { unitBytes, segregatedUnitsMax, listCount, largeList } = classLayout;
 * assert.deepEqual([unitBytes, segregatedUnitsMax, listCount], [64, 1024, 15]);
 * assert.equal(listIndexFor(segregatedUnitsMax + 1), largeList);
 * ```
 */
export const classLayout = Object.freeze({ unitBytes, segregatedUnitsMax, listCount, largeList });

/**
 * Rounded size in units of a request of `bytes`: its size class.
 *
 * @param bytes the requested size, a positive integer (not checked: the arena validates it)
 * @returns the block size in units
 * @example
 * ```ts
 * import { classUnitsFor } from "./size_classes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(classUnitsFor(100), 2); // 128 B
 * assert.equal(classUnitsFor(5000), 128); // 8 KiB
 * assert.equal(classUnitsFor(65537), 1025); // 64 KiB + 64 B
 * ```
 */
export function classUnitsFor(bytes: number): number {
  const units = Math.ceil(bytes / unitBytes);
  if (units <= pow2UnitsMax) {
    return units === 1 ? 1 : 2 ** (32 - Math.clz32(units - 1));
  }
  if (units <= segregatedUnitsMax) {
    return Math.ceil(units / linearUnitsStep) * linearUnitsStep;
  }
  return units;
}

/**
 * The free list of a free block of `units`: the largest class ≤ `units`.
 *
 * @param units the free block's size in units (≥ 1)
 * @returns a list index in [0, `listCount`), or `largeList` above the largest class
 * @example
 * ```ts
 * import { classLayout, listIndexFor } from "./size_classes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(listIndexFor(1), 0); // 64 B
 * assert.equal(listIndexFor(3), 1); // 192 B holds any 128-byte request
 * assert.equal(listIndexFor(128), 7); // 8 KiB
 * assert.equal(listIndexFor(2000), classLayout.largeList);
 * ```
 */
export function listIndexFor(units: number): number {
  if (units < linearUnitsStep) return 31 - Math.clz32(units);
  if (units <= segregatedUnitsMax) {
    return pow2Lists - 1 + Math.floor(units / linearUnitsStep);
  }
  return largeList;
}
