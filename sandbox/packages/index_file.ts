/**
 * The store's `index.json`: `{version: 1, packages: StoredPackage[]}`,
 * sorted by name. Read lazily and again only when the file changed (its
 * mtime, size or inode: an add in another process replaces it), validated
 * on every read; written whole to a temporary file that is synced, then
 * renamed over the index (and the directory synced), so a reader sees the
 * old index or the new one, never a part.
 *
 * @module
 */

import { z } from "zod";
import { storeIndexBytesMax, storePackagesMax } from "./limits.ts";
import { PackageError, type StoredPackage } from "./types.ts";

const storedPackageSchema = z.object({
  name: z.string().min(1).max(214),
  version: z.string().min(1).max(64),
  integrity: z.string().max(256),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.int().min(0),
  exports: z.array(z.string().max(256)),
  dependencies: z.array(z.string().max(300)),
  addedAt: z.string().max(64),
});

const indexSchema = z.object({
  version: z.literal(1),
  packages: z.array(storedPackageSchema).max(storePackagesMax),
});

/** The index of one store directory. */
export class IndexFile {
  /** The file's path. */
  readonly path: string;
  #dir: string;
  #key: string | undefined;
  #packages: readonly StoredPackage[] = [];

  /** @param dir the store directory (the index is `<dir>/index.json`) */
  constructor(dir: string) {
    this.#dir = dir;
    this.path = `${dir}/index.json`;
  }

  /**
   * The packages the index holds now (none when there is no index yet).
   *
   * @returns the entries, sorted by name (the array is shared: do not change it)
   * @throws {PackageError} `integrity` when the file is not an index (damaged, or written by something else)
   * @example
   * ```ts
   * import { IndexFile } from "./index_file.ts";
   * const packages = await new IndexFile("/srv/agentos/data/packages").read();
   * ```
   */
  async read(): Promise<readonly StoredPackage[]> {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(this.path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      this.#key = "missing";
      this.#packages = [];
      return this.#packages;
    }
    const key = `${stat.mtime?.getTime()}:${stat.size}:${stat.ino}`;
    if (key === this.#key) return this.#packages;
    if (stat.size > storeIndexBytesMax) throw this.#damaged(`over ${storeIndexBytesMax} bytes`);
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (err) {
      // Replaced between the stat and the read: read the new one next time.
      if (err instanceof Deno.errors.NotFound) return this.read();
      throw err;
    }
    this.#packages = this.#parse(text);
    this.#key = key;
    return this.#packages;
  }

  /**
   * Replace the index with `packages` (sorted here), atomically and durably.
   *
   * @param packages every entry the store holds
   * @example
   * ```ts
   * import { IndexFile } from "./index_file.ts";
   * await new IndexFile("/srv/agentos/data/packages").write([]);
   * ```
   */
  async write(packages: readonly StoredPackage[]): Promise<void> {
    const sorted = [...packages].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const text = JSON.stringify({ version: 1, packages: sorted }, null, 2) + "\n";
    const temp = `${this.path}.${crypto.randomUUID()}.tmp`;
    try {
      const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
      try {
        await writeAll(file, new TextEncoder().encode(text));
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(temp, this.path);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw err;
    }
    await syncDir(this.#dir);
    this.#key = undefined;
  }

  #parse(text: string): StoredPackage[] {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw this.#damaged("not JSON");
    }
    const parsed = indexSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw this.#damaged(`${issue?.path.join(".") || "index"}: ${issue?.message ?? "invalid"}`);
    }
    return parsed.data.packages;
  }

  #damaged(why: string): PackageError {
    return new PackageError(
      "integrity",
      `${this.path} is not a package index (${why}): restore it from a backup, or move it away and ` +
        "`deno task packages add` the packages again",
    );
  }
}

/**
 * Write every byte of `bytes` to `file` (a `write` may take fewer).
 *
 * @example
 * ```ts
 * import { writeAll } from "./index_file.ts";
 * using file = await Deno.open("/tmp/x", { write: true, create: true });
 * await writeAll(file, new TextEncoder().encode("hello"));
 * ```
 */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/**
 * fsync a directory, so that a rename in it is durable.
 *
 * @example
 * ```ts
 * import { syncDir } from "./index_file.ts";
 * await syncDir("/srv/agentos/data/packages");
 * ```
 */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
