/**
 * The one assertion helper for programmer errors (TigerBeetle style:
 * assertions for bugs, return values and errnos for operating errors).
 *
 * @module
 */

/**
 * Throw if `condition` is false: a broken invariant is a bug, never an
 * answer to a caller.
 *
 * @param condition what must hold
 * @param message what was expected, for the error
 * @throws {Error} `assertion failed: <message>`
 * @example
 * ```ts
 * assert(1 + 1 === 2, "arithmetic");
 * ```
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
