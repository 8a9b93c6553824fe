/**
 * The operator-curated npm package store (see `store.ts`): each package is
 * one ES module bundled with its dependencies at `packages add` time, read
 * (and checked against its SHA-256) only by the supervisor, which hands it
 * to an agent's Worker. Filled by `deno task packages` and the admin routes
 * `/v1/packages`.
 *
 * This is the folder's only public entry.
 *
 * @example
 * ```ts
 * import { PackageStore } from "./mod.ts";
 * const store = new PackageStore(PackageStore.defaultDir("./data"));
 * const lodash = await store.get("lodash");
 * if (lodash) console.log((await store.source(lodash)).length);
 * ```
 *
 * @module
 */

export { PackageError, type PackageErrorCode, type StoredPackage } from "./types.ts";
export { type AddOptions, PackageStore, type PackageStoreOptions, type VerifyResult } from "./store.ts";
export { bundleFileName, checkPackageName, isExactVersion, type PackageSpec, parsePackageSpec } from "./spec.ts";
export * from "./limits.ts";
