/**
 * The kernel's own vocabulary: errnos, every limit (named with its unit last), and the wire constants
 * a cell shares. Nothing here imports an npm package: cells load it too.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export * from "./errno.ts";
export * from "./limits.ts";
export { controlLineCode } from "./wire.ts";
