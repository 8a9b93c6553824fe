/**
 * Per-agent workspace directories under `<dataDir>/workspaces/`.
 *
 * Each agent gets a fresh directory named by pid and a random suffix; its
 * real path (symlinks resolved) is the root every guest path is confined to.
 *
 * @module
 */

import { directoryBytes, KernelError } from "../../kernel/mod.ts";
import type { PathAccess } from "../../kernel/syscall/mod.ts";
import { MutationLocks } from "./disk.ts";
import { type Mount, type ResolvedPath, resolveMounted } from "./mounts.ts";
import { VolumeSet } from "./volumes.ts";

/** Owns the workspace directories of live agents, their mounts, and the volumes. */
export class Workspaces {
  /** The registered volumes (the API registers them). */
  readonly volumes: VolumeSet;
  /** One mutation at a time per account (key: the checked path's root), for syscalls and the files API alike. */
  readonly locks = new MutationLocks();
  #base: string;
  #roots = new Map<number, string>();
  /** Roots that outlive their agent (a session's, handed from one context to the next). */
  #kept = new Set<string>();
  #mounts = new Map<number, readonly Mount[]>();

  /** @param dataDir the server's data directory (must exist or be creatable) */
  constructor(dataDir: string) {
    this.#base = `${dataDir}/workspaces`;
    this.volumes = new VolumeSet(dataDir);
  }

  /** Give `pid` its mounts (from `takeMounts`, before its workspace exists). */
  setMounts(pid: number, mounts: readonly Mount[]): void {
    if (mounts.length > 0) this.#mounts.set(pid, mounts);
  }

  /** Forget `pid`'s mounts, if they are still `mounts` (a recycled pid keeps its own). */
  dropMounts(pid: number, mounts: readonly Mount[]): void {
    if (this.#mounts.get(pid) === mounts) this.#mounts.delete(pid);
  }

  /** The mounts of `pid` (none if it has none). */
  mounts(pid: number): readonly Mount[] {
    return this.#mounts.get(pid) ?? [];
  }

  /**
   * Confine `raw` for `pid`: beneath its workspace, or beneath a mounted
   * volume's root when the path lies at or under a mount point.
   *
   * @throws {KernelError} `ESRCH` without a workspace; `EROFS` writing to a read-only mount; `EACCES` on escape
   */
  resolve(pid: number, raw: unknown, access: PathAccess): Promise<ResolvedPath> {
    return resolveMounted(this.root(pid), this.mounts(pid), raw, access);
  }

  /**
   * Create a fresh workspace for `pid`, or hand it a kept one (`reuse`, a
   * root an earlier agent kept); returns its real root.
   *
   * @param keep the root outlives `pid`: its removal only forgets it (the caller deletes it with `drop`)
   * @throws {KernelError} `EINVAL` when `reuse` is not a kept root
   */
  async create(pid: number, options: { reuse?: string; keep?: boolean } = {}): Promise<string> {
    if (options.reuse !== undefined) {
      if (!this.#kept.has(options.reuse)) throw new KernelError("EINVAL", "not a kept workspace");
      this.#roots.set(pid, options.reuse);
      return options.reuse;
    }
    const root = await this.#make(pid);
    if (options.keep) this.#kept.add(root);
    return root;
  }

  /** Delete a kept root (its last agent is gone). Idempotent. */
  async drop(root: string): Promise<void> {
    if (!this.#kept.delete(root)) return;
    for (const held of this.#roots.values()) if (held === root) return;
    await removeTree(root);
  }

  /** What a root holds, as the disk quota counts it: file bytes plus a directory's bytes each, and entries. */
  async usage(root: string): Promise<{ bytes: number; files: number }> {
    const total = { bytes: 0, files: 0 };
    const walk = async (dir: string) => {
      for await (const entry of Deno.readDir(dir)) {
        const path = `${dir}/${entry.name}`;
        total.files++;
        if (entry.isDirectory) {
          total.bytes += directoryBytes;
          await walk(path);
        } else if (entry.isFile) total.bytes += (await Deno.lstat(path)).size;
      }
    };
    await walk(root);
    return total;
  }

  async #make(pid: number): Promise<string> {
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
    if (this.#kept.has(root)) return 0;
    const bytes = await treeBytes(root);
    await removeTree(root);
    return bytes;
  }

  /**
   * Remove a workspace made for `pid` after its agent ended (its cleanup
   * ran before the workspace existed, or while it was being seeded).
   */
  async discard(pid: number, root: string): Promise<void> {
    if (this.#roots.get(pid) === root) this.#roots.delete(pid);
    if (!this.#kept.has(root)) await removeTree(root);
  }

  /**
   * Remove every workspace directory no live agent holds (left by a crash
   * or a kill of the server); returns how many were removed.
   */
  async removeStale(): Promise<number> {
    const held = new Set([...this.#roots.values(), ...this.#kept].map((root) => root.slice(root.lastIndexOf("/") + 1)));
    return await removeEntries(this.#base, (name) => !held.has(name));
  }

  /** Number of workspaces currently held. */
  get size(): number {
    return this.#roots.size;
  }
}

/** Remove `path` and everything beneath it; gone already is fine. */
async function removeTree(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/**
 * Remove the entries of `dir` whose name `stale` accepts; a missing `dir`
 * has none. Returns how many were removed.
 *
 * @param dir a directory the server owns (`<data>/cells`, `<data>/workspaces`)
 * @param stale which entries to remove
 */
export async function removeEntries(dir: string, stale: (name: string) => boolean): Promise<number> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (stale(entry.name)) names.push(entry.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
  await Promise.all(names.map((name) => removeTree(`${dir}/${name}`)));
  return names.length;
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
