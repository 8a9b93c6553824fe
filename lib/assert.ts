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
 * @param kind the error class to throw (`RangeError` for a caller's bad
 *   argument); `Error` by default
 * @throws {Error} `assertion failed: <message>`, of class `kind`
 * @example
 * ```ts
 * assert(1 + 1 === 2, "arithmetic");
 * assert(Number.isInteger(2), "pid must be an integer", RangeError);
 * ```
 */
export function assert(
  condition: unknown,
  message: string,
  kind: new (message: string) => Error = Error,
): asserts condition {
  if (!condition) throw new kind(`assertion failed: ${message}`);
}
