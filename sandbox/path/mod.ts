/**
 * Path confinement: guest paths to CheckedPath values, the only type the fs I/O accepts.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { normalizeGuestPath } from "./normalize.ts";
export { confinePath, verifyOpened } from "./confine.ts";
