/**
 * Version ranges of npm packages (`^4`, `~1.2`, `>=2 <3`, `4.17.21`): the
 * `semver` package npm itself uses, so a range means here what it means to
 * `npm install`.
 *
 * @module
 */

// @deno-types="@types/semver"
import semver from "semver";

/**
 * Whether `range` is a valid npm version range.
 *
 * @example
 * ```ts
 * validRange("^4"); // true
 * validRange("four"); // false
 * ```
 */
export function validRange(range: string): boolean {
  return range.length <= 256 && semver.validRange(range) !== null;
}

/**
 * Whether `version` satisfies `range` (prereleases only when the range names them).
 *
 * @example
 * ```ts
 * satisfies("4.17.21", "^4"); // true
 * ```
 */
export function satisfies(version: string, range: string): boolean {
  return validRange(range) && semver.satisfies(version, range);
}
