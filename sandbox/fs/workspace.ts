/**
 * Per-agent workspace directories under `<dataDir>/workspaces/`.
 *
 * Each agent gets a fresh directory named by pid and a random suffix; its
 * real path (symlinks resolved) is the root every guest path is confined to.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";

/** Owns the workspace directories of live agents. */
export class Workspaces {
  #base: string;
  #roots = new Map<number, string>();

  /** @param dataDir the server's data directory (must exist or be creatable) */
  constructor(dataDir: string) {
    this.#base = `${dataDir}/workspaces`;
  }

  /** Create a fresh workspace for `pid`; returns its real root. */
  async create(pid: number): Promise<string> {
    await Deno.mkdir(this.#base, { recursive: true });
    const suffix = crypto.randomUUID().slice(0, 8);
    const dir = `${this.#base}/${pid}-${suffix}`;
    await Deno.mkdir(dir, { mode: 0o700 });
    const root = await Deno.realPath(dir);
    this.#roots.set(pid, root);
    return root;
  }

  /**
   * The real root of `pid`'s workspace.
   *
   * @throws {KernelError} `ESRCH` if the pid has none
   */
  root(pid: number): string {
    const root = this.#roots.get(pid);
    if (root === undefined) throw new KernelError("ESRCH", "agent has no workspace");
    return root;
  }

  /** Remove `pid`'s workspace; returns the bytes it held. Idempotent. */
  async remove(pid: number): Promise<number> {
    const root = this.#roots.get(pid);
    if (root === undefined) return 0;
    this.#roots.delete(pid);
    const bytes = await treeBytes(root);
    await Deno.remove(root, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    return bytes;
  }

  /** Number of workspaces currently held. */
  get size(): number {
    return this.#roots.size;
  }
}

/** Total size of regular files beneath `dir` (symlinks are not followed). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) total += await treeBytes(path);
      else if (entry.isFile) total += (await Deno.lstat(path)).size;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return total;
}
