/**
 * The store's write lock: one install or removal at a time, across
 * processes (an exclusive `flock` on `<dir>/.lock`, which the kernel drops
 * when its holder exits, so a crashed `packages add` never leaves a stale
 * lock) and within a process (a promise chain: two `flock`s of one process
 * on two descriptors would exclude each other too, but the chain keeps the
 * order of calls).
 *
 * The index's lock (`.lock`) is held only while the index is read, changed
 * and written (a rename and an fsync or two), never while a package
 * downloads or bundles, so a wait of {@linkcode storeLockWaitMsMax} means a
 * holder that is stuck. The store also runs its bundler under a lock of its
 * own (`.bundle.lock`, see `store.ts`), waited for longer.
 *
 * @module
 */

import { storeLockWaitMsMax } from "./limits.ts";
import { PackageError } from "./types.ts";

/** See the module doc. */
export class StoreLock {
  /** The lock file. */
  readonly path: string;
  #waitMsMax: number;
  #chain: Promise<void> = Promise.resolve();

  /**
   * @param dir the store directory (must exist)
   * @param waitMsMax how long to wait for another process's lock, ms
   * @param name the lock file's name in `dir` (`.lock`: the index; `.bundle.lock`: the bundler, see `store.ts`)
   */
  constructor(dir: string, waitMsMax: number = storeLockWaitMsMax, name = ".lock") {
    this.path = `${dir}/${name}`;
    this.#waitMsMax = waitMsMax;
  }

  /**
   * Run `fn` holding the lock.
   *
   * @param fn the critical section
   * @returns what `fn` returns
   * @throws {PackageError} `busy` when another process held the lock for over `waitMsMax`; what `fn` throws
   * @example
   * ```ts
   * import { StoreLock } from "./lock.ts";
   * const lock = new StoreLock("/srv/agentos/data/packages");
   * await lock.run(async () => {});
   * ```
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#chain;
    let release!: () => void;
    this.#chain = new Promise<void>((resolve) => release = resolve);
    try {
      await previous;
      return await this.#locked(fn);
    } finally {
      release();
    }
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const file = await Deno.open(this.path, { read: true, write: true, create: true, mode: 0o644 });
    const taking = file.lock(true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), this.#waitMsMax));
    let won: "locked" | "timeout";
    try {
      won = await Promise.race([taking.then(() => "locked" as const), timedOut]);
    } catch (err) {
      file.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (won === "timeout") {
      // The lock may still be granted later: let it go at once (closing the descriptor drops it).
      taking.then(() => file.close(), () => file.close());
      throw new PackageError(
        "busy",
        `another process has held the package store's lock (${this.path}) for over ${this.#waitMsMax} ms: ` +
          "wait for its `packages add` or `remove` to finish, then retry",
      );
    }
    try {
      return await fn();
    } finally {
      file.close();
    }
  }
}
