/**
 * The memory folder's failure for a broken invariant found by a walk or a
 * handle check: an `AssertionError` whose message starts with `arena: `.
 * Plain conditions use `assert` from `lib/mod.ts`; `fail` is for the checks
 * that build their message only once they already know it failed. Private
 * to `kernel/memory/`.
 *
 * @module
 */

/**
 * Throws an `AssertionError` with message `arena: <message>`.
 *
 * @param message what went wrong
 * @returns never
 * @throws {Error} (`AssertionError`) always
 * @example
 * ```ts
 * import { fail } from "./_fail.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => fail("bad block"), { name: "AssertionError", message: "arena: bad block" });
 * ```
 */
export function fail(message: string): never {
  const error = new Error(`arena: ${message}`);
  error.name = "AssertionError";
  throw error;
}
