/**
 * The package store's shapes, shared by the store (`store.ts`), the module
 * loader (`sandbox/modules/`), the admin routes and the CLI.
 *
 * A stored package is one ES module: the package and everything it depends
 * on bundled at `packages add` time, Node built-ins left as `node:` imports,
 * its named exports listed. Cells never read the store: the supervisor reads
 * a bundle (checking its SHA-256 against the index) and hands it to the
 * agent's Worker through `mod.load`, like a workspace module.
 *
 * @module
 */

/** One package of the store, as its index holds it. */
export interface StoredPackage {
  /** The npm name, `lodash` or `@scope/name`. */
  name: string;
  /** The exact version pinned (a bare `"lodash"` import resolves to it). */
  version: string;
  /** The registry's `dist.integrity` of the package's tarball (`sha512-…`). */
  integrity: string;
  /** SHA-256 of the bundle file, hex: checked each time the bundle is read. */
  sha256: string;
  /** Size of the bundle, bytes. */
  bytes: number;
  /** Named exports of the module (identifiers only); `default` is listed when it has one. */
  exports: string[];
  /** Every package bundled in, `name@version`, the package itself first. */
  dependencies: string[];
  /** When it was added, ISO 8601. */
  addedAt: string;
}

/** Why the store refused or failed. */
export type PackageErrorCode =
  | "invalid_spec"
  | "not_found"
  | "install_script"
  | "native_addon"
  | "registry"
  | "bundle_failed"
  | "integrity"
  | "too_large"
  /** Another process held the store's lock for too long (`storeLockWaitMsMax`). */
  | "busy";

/** A store error: `code` says which, the message says what to do. */
export class PackageError extends Error {
  readonly code: PackageErrorCode;
  constructor(code: PackageErrorCode, message: string) {
    super(message);
    this.name = "PackageError";
    this.code = code;
  }
}
