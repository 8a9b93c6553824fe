/**
 * Limits of the module loader.
 *
 * @module
 */

/** Package bundles kept cut at their imports, by content hash (each up to the store's bundle cap). */
export const packageModulesCachedMax = 32;
