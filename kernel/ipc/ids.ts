/**
 * Unguessable object ids.
 *
 * @module
 */

/** Random bytes in an id (16 hex digits). */
export const idRandomBytes = 8;

/**
 * `prefix` followed by 16 random hex digits.
 *
 * @example
 * ```ts
 * randomId("q_"); // "q_9f86d081884c7d65"
 * ```
 */
export function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(idRandomBytes));
  return prefix + bytes.toHex();
}
