/**
 * The operator-curated package store: a directory (by default
 * `<dataDir>/packages`) of bundles, one ES module file per package
 * (`<safe-name>@<version>.js`), and `index.json` naming each with its
 * version, hash, size and exports. Only the supervisor reads it (cells
 * never do: an agent's Worker gets a bundle's text through `mod.load`);
 * only `packages add`/`remove` (the CLI or the admin routes) write it.
 *
 * `add` resolves and downloads the tree in a private `DENO_DIR`
 * (`<dir>/.cache`, reused across adds), refuses install scripts and native
 * addons, lists the exports with no permission, bundles (one bundle at a
 * time per store, under `.bundle.lock`), then installs under the store's
 * lock (`.lock`): the bundle is renamed into place, the index
 * rewritten (temporary file, fsync, rename), and the file of a replaced
 * version removed once the index no longer names it. One version per name.
 *
 * `source` checks a bundle's SHA-256 against the index every time it reads
 * it from disk, and keeps the verified text in memory (bounded by bytes).
 *
 * @module
 */

import { resolve } from "node:path";
import { BoundedMap } from "../../lib/mod.ts";
import { bundlePackage, sha256Hex, type StagedBundle } from "./bundle.ts";
import { listExports } from "./exports.ts";
import { IndexFile, syncDir } from "./index_file.ts";
import { inspectTree } from "./inspect.ts";
import { bundleMsMax, integrityLoggedMax, packageBytesMax, storeLockWaitMsMax, storePackagesMax } from "./limits.ts";
import { StoreLock } from "./lock.ts";
import { type ResolvedTree, resolveTree } from "./resolve.ts";
import { SourceCache } from "./source_cache.ts";
import { bundleFileName, checkPackageName, parsePackageSpec } from "./spec.ts";
import { PackageError, type StoredPackage } from "./types.ts";

/** Options of {@linkcode PackageStore.add}. */
export interface AddOptions {
  /** The npm registry (default: the environment's `NPM_CONFIG_REGISTRY`, else https://registry.npmjs.org). */
  registryUrl?: string;
}

/** Options of a {@linkcode PackageStore}. */
export interface PackageStoreOptions {
  /** Where integrity mismatches are told, one line each, once per file and hash. @default console.error */
  log?: (line: string) => void;
  /** Verified text kept in memory, bytes. @default packageCacheBytesMax */
  cacheBytesMax?: number;
  /** How long an add or remove waits for another process's lock, ms. @default storeLockWaitMsMax */
  lockWaitMsMax?: number;
}

/** One bundle checked against the index. */
export interface VerifyResult {
  name: string;
  version: string;
  ok: boolean;
  /** What is wrong, and what to do, when not `ok`. */
  reason?: string;
}

/** An entry the caller may change without changing the index's. */
function copy(p: StoredPackage): StoredPackage {
  return { ...p, exports: [...p.exports], dependencies: [...p.dependencies] };
}

/** Staging directories older than this are left by a crashed add and removed by the next, ms. */
const stagingStaleMs = 60 * 60 * 1000;

/** See the module doc. */
export class PackageStore {
  /** The store directory. */
  readonly dir: string;
  /** Verified bundle texts in memory (its `bytes`, `evicted`). */
  readonly cache: SourceCache;
  #index: IndexFile;
  #lock: StoreLock | undefined;
  #bundleLock: StoreLock | undefined;
  #lockWaitMsMax: number | undefined;
  #log: (line: string) => void;
  #reading = new Map<string, Promise<string>>();
  #logged = new BoundedMap<string, true>({ max: integrityLoggedMax });

  /**
   * @param dir the store directory (created by the first `add`; a missing store is an empty one)
   * @param options logging, cache and lock bounds
   */
  constructor(dir: string, options: PackageStoreOptions = {}) {
    // Absolute: the adds run `deno` subprocesses in directories of the store, where a relative path means another place.
    this.dir = resolve(dir).replace(/\/+$/, "") || "/";
    this.cache = new SourceCache(options.cacheBytesMax);
    this.#index = new IndexFile(this.dir);
    this.#lockWaitMsMax = options.lockWaitMsMax;
    this.#log = options.log ?? ((line) => console.error(line));
  }

  /**
   * The store of a server's data directory: `<dataDir>/packages`.
   *
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * PackageStore.defaultDir("./data"); // "./data/packages"
   * ```
   */
  static defaultDir(dataDir: string): string {
    return `${dataDir.replace(/\/+$/, "")}/packages`;
  }

  /**
   * Every stored package, sorted by name (the index is read again only when it changed).
   *
   * @throws {PackageError} `integrity` when `index.json` is damaged
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * for (const p of await new PackageStore("./data/packages").list()) console.log(p.name, p.version);
   * ```
   */
  async list(): Promise<StoredPackage[]> {
    return (await this.#index.read()).map((p) => ({
      ...p,
      exports: [...p.exports],
      dependencies: [...p.dependencies],
    }));
  }

  /**
   * The stored package named `name`, if any.
   *
   * @throws {PackageError} `integrity` when `index.json` is damaged
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * (await new PackageStore("./data/packages").get("lodash"))?.version; // "4.17.21"
   * ```
   */
  async get(name: string): Promise<StoredPackage | undefined> {
    const found = (await this.#index.read()).find((p) => p.name === name);
    return found === undefined ? undefined : copy(found);
  }

  /**
   * The bundle of `pkg` (an entry of this store's index), checked against
   * its SHA-256 whenever it is read from disk.
   *
   * @param pkg the package, as `get` or `list` returned it
   * @returns the ES module's source
   * @throws {PackageError} `integrity` when the file is missing or does not match (logged once)
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * const store = new PackageStore("./data/packages");
   * const text = await store.source((await store.get("lodash"))!);
   * ```
   */
  source(pkg: StoredPackage): Promise<string> {
    const cached = this.cache.get(pkg.sha256);
    if (cached !== undefined) return Promise.resolve(cached);
    const key = `${pkg.sha256}:${pkg.name}@${pkg.version}`;
    let reading = this.#reading.get(key);
    if (reading === undefined) {
      reading = this.#readVerified(pkg).finally(() => this.#reading.delete(key));
      this.#reading.set(key, reading);
    }
    return reading;
  }

  /**
   * Check every bundle against the index (for `packages list --verify` and the server's start).
   *
   * @returns one result per package; `ok: false` with the reason and the fix
   * @throws {PackageError} `integrity` when `index.json` is damaged
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * const bad = (await new PackageStore("./data/packages").verify()).filter((r) => !r.ok);
   * ```
   */
  async verify(): Promise<VerifyResult[]> {
    const results: VerifyResult[] = [];
    for (const pkg of await this.#index.read()) {
      const problem = await this.#check(pkg).then((r) => r.problem, (err) => String(err?.message ?? err));
      const { name, version } = pkg;
      results.push(problem === undefined ? { name, version, ok: true } : { name, version, ok: false, reason: problem });
    }
    return results;
  }

  /**
   * Add a package: resolve `spec` to one exact version, check, bundle and
   * install it (see the module doc). Adding another version of a stored
   * name replaces it.
   *
   * @param spec `name`, `name@range` or `@scope/name@range`
   * @param options the registry
   * @returns the stored entry, once it is in the index
   * @throws {PackageError} `invalid_spec`, `not_found`, `registry`, `install_script`, `native_addon`,
   *   `bundle_failed`, `too_large`, `busy`
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * const pkg = await new PackageStore("./data/packages").add("lodash@^4");
   * pkg.version; // the newest 4.x.y, exact
   * ```
   */
  async add(spec: string, options: AddOptions = {}): Promise<StoredPackage> {
    const parsed = parsePackageSpec(spec);
    const denoDir = `${this.dir}/.cache`;
    await Deno.mkdir(denoDir, { recursive: true });
    const workDir = await this.#stagingDir();
    try {
      const tree = await resolveTree(parsed, { denoDir, cwd: workDir, registryUrl: options.registryUrl });
      await inspectTree(tree);
      const exports = await listExports(tree.root, { denoDir, workDir });
      const fileName = bundleFileName(tree.root.name, tree.root.version);
      // One `deno bundle` per store at a time: Deno installs its esbuild binary into the DENO_DIR on first use,
      // and two first uses at once collide ("failed to copy esbuild binary").
      this.#bundleLock ??= new StoreLock(this.dir, bundleMsMax + storeLockWaitMsMax, ".bundle.lock");
      const staged = await this.#bundleLock.run(() =>
        bundlePackage(tree.root, exports, { denoDir, workDir, fileName })
      );
      const names = exports.hasDefault ? [...exports.names, "default"].sort() : exports.names;
      return await this.#install(tree, staged, names, fileName);
    } finally {
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * Remove the package named `name`: out of the index first, then its file.
   *
   * @returns whether it was stored
   * @throws {PackageError} `invalid_spec` (not a package name), `busy`
   * @example
   * ```ts
   * import { PackageStore } from "./store.ts";
   * await new PackageStore("./data/packages").remove("lodash"); // true
   * ```
   */
  async remove(name: string): Promise<boolean> {
    checkPackageName(name);
    if ((await this.get(name)) === undefined) return false;
    return await this.#locked(async () => {
      const packages = await this.#index.read();
      const old = packages.find((p) => p.name === name);
      if (old === undefined) return false;
      await this.#index.write(packages.filter((p) => p !== old));
      await this.#removeFile(bundleFileName(old.name, old.version));
      return true;
    });
  }

  /** Under the lock: the bundle into place, the index rewritten, a replaced version's file removed. */
  async #install(tree: ResolvedTree, staged: StagedBundle, exports: string[], fileName: string) {
    const entry: StoredPackage = {
      name: tree.root.name,
      version: tree.root.version,
      integrity: tree.integrity,
      sha256: staged.sha256,
      bytes: staged.bytes,
      exports,
      dependencies: tree.packages.map((p) => p.id),
      addedAt: new Date().toISOString(),
    };
    return await this.#locked(async () => {
      const packages = await this.#index.read();
      const old = packages.find((p) => p.name === entry.name);
      if (old === undefined && packages.length >= storePackagesMax) {
        throw new PackageError("too_large", `the store holds ${packages.length} packages (storePackagesMax)`);
      }
      await Deno.rename(staged.path, `${this.dir}/${fileName}`);
      await syncDir(this.dir);
      await this.#index.write([...packages.filter((p) => p !== old), entry]);
      if (old !== undefined && old.version !== entry.version) {
        await this.#removeFile(bundleFileName(old.name, old.version));
      }
      return entry;
    });
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    this.#lock ??= new StoreLock(this.dir, this.#lockWaitMsMax);
    return Deno.mkdir(this.dir, { recursive: true }).then(() => this.#lock!.run(fn));
  }

  async #removeFile(fileName: string): Promise<void> {
    await Deno.remove(`${this.dir}/${fileName}`).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /** A fresh staging directory in `<dir>/.staging` (same filesystem: a rename installs); stale ones removed. */
  async #stagingDir(): Promise<string> {
    const base = `${this.dir}/.staging`;
    await Deno.mkdir(base, { recursive: true });
    for await (const entry of Deno.readDir(base)) {
      const path = `${base}/${entry.name}`;
      const stat = await Deno.lstat(path).catch(() => undefined);
      if (stat?.mtime && Date.now() - stat.mtime.getTime() > stagingStaleMs) {
        await Deno.remove(path, { recursive: true }).catch(() => {});
      }
    }
    return await Deno.makeTempDir({ dir: base, prefix: "add-" });
  }

  async #readVerified(pkg: StoredPackage): Promise<string> {
    const { text, problem, file, sha256 } = await this.#check(pkg);
    if (problem === undefined) {
      this.cache.set(pkg.sha256, text!, pkg.bytes);
      return text!;
    }
    const key = `${file}:${sha256}`;
    if (!this.#logged.has(key)) {
      this.#logged.set(key, true);
      this.#log(`agentos: package store: ${problem}`);
    }
    throw new PackageError("integrity", problem);
  }

  /** Read `pkg`'s bundle from disk and compare it with the index; never throws for a bad file. */
  async #check(pkg: StoredPackage): Promise<{ text?: string; problem?: string; file: string; sha256?: string }> {
    const file = `${this.dir}/${bundleFileName(pkg.name, pkg.version)}`;
    const fix = `run \`deno task packages add ${pkg.name}@${pkg.version}\` again`;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      const size = (await Deno.stat(file)).size;
      if (size > packageBytesMax) return { file, problem: `${file} is ${size} bytes, over packageBytesMax: ${fix}` };
      bytes = await Deno.readFile(file);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "is missing" : `cannot be read (${err})`;
      return { file, problem: `${file} ${why}, but the index names it: ${fix}` };
    }
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== pkg.sha256 || bytes.length !== pkg.bytes) {
      const problem = `${file} does not match the index (sha256 ${sha256}, ${bytes.length} bytes; the index says ` +
        `${pkg.sha256}, ${pkg.bytes} bytes): it was changed or damaged on disk; ${fix}`;
      return { file, sha256, problem };
    }
    return { file, sha256, text: new TextDecoder().decode(bytes) };
  }
}
