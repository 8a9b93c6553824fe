/**
 * Path confinement: guest paths to CheckedPath values, the only type the fs I/O accepts.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { confinePath, isBeneath, verifyOpened } from "./confine.ts";
export { normalizeGuestPath } from "./normalize.ts";
