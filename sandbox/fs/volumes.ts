/**
 * Volumes: named per-tenant directories under `<dataDir>/volumes/<tenant>/<name>/`
 * that outlive agents. The set holds the volumes the API registered (from its
 * store at start, and on every create), each with its quota and its live usage
 * — one account shared by every agent that mounts it and by the files API,
 * recomputed from disk when it is opened — and how many agents mount it now.
 *
 * Metadata (names, quotas) is the API's (its store); this module owns the
 * directories and the accounting.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { directoryBytes } from "../../kernel/mod.ts";
import type { DiskAccount } from "./disk.ts";
import { statsAt } from "./disk.ts";

/** A volume name: lowercase letters, digits, `.`, `_` and `-`, 1–63 characters, not starting with a symbol. */
export const volumeNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Prefix of the temporary files writes go through (removed when a volume is opened). */
export const tempFilePrefix = ".agentos-tmp-";

/** A volume's quota. */
export interface VolumeQuota {
  /** File contents plus `directoryBytes` per directory, bytes. */
  quotaBytes: number;
  /** Files and directories (inodes). */
  quotaFiles: number;
}

/** One volume: its real root, quota and live usage (a {@linkcode DiskAccount}). */
export class Volume implements DiskAccount {
  /** Bytes held (contents + `directoryBytes` per directory; the root itself is free). */
  usedBytes = 0;
  /** Files and directories held (the root is not counted). */
  usedFiles = 0;
  /** Agents that mount it now. */
  mounts = 0;

  /**
   * @param tenant the owning tenant
   * @param name the volume's name
   * @param root its real root directory
   * @param quota its quota
   */
  constructor(readonly tenant: string, readonly name: string, readonly root: string, readonly quota: VolumeQuota) {}

  /** @throws {KernelError} `ENOSPC` naming the volume's quota */
  ensureRoom(bytes: number, files: number): void {
    if (this.usedBytes + bytes > this.quota.quotaBytes) {
      throw new KernelError("ENOSPC", `volume ${this.name}: quota of ${this.quota.quotaBytes} bytes exceeded`);
    }
    if (this.usedFiles + files > this.quota.quotaFiles) {
      throw new KernelError("ENOSPC", `volume ${this.name}: limit of ${this.quota.quotaFiles} files reached`);
    }
  }

  /** Add (or give back) bytes and entries. */
  charge(bytes: number, files: number): void {
    this.usedBytes = Math.max(0, this.usedBytes + bytes);
    this.usedFiles = Math.max(0, this.usedFiles + files);
  }
}

/** The registered volumes of every tenant. */
export class VolumeSet {
  #base: string;
  #byKey = new Map<string, Volume>();
  #byRoot = new Map<string, Volume>();

  /** @param dataDir the server's data directory */
  constructor(dataDir: string) {
    this.#base = `${dataDir}/volumes`;
  }

  /**
   * Register a volume, making its directory if missing; its usage is
   * computed from what is on disk (temporary files a crash left are removed
   * first). Opening a registered volume returns it unchanged.
   *
   * @throws {KernelError} `EINVAL` for a bad name or tenant id
   */
  async open(tenant: string, name: string, quota: VolumeQuota): Promise<Volume> {
    const known = this.get(tenant, name);
    if (known !== undefined) return known;
    if (!volumeNamePattern.test(name) || !volumeNamePattern.test(tenant.toLowerCase())) {
      throw new KernelError("EINVAL", `bad volume name ${JSON.stringify(name.slice(0, 64))}`);
    }
    const dir = `${this.#base}/${tenant}/${name}`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const root = await Deno.realPath(dir);
    await removeTempFiles(root);
    const stats = await statsAt(root);
    const raced = this.get(tenant, name);
    if (raced !== undefined) return raced;
    const volume = new Volume(tenant, name, root, quota);
    volume.charge(stats.bytes - directoryBytes, stats.files - 1);
    this.#byKey.set(key(tenant, name), volume);
    this.#byRoot.set(root, volume);
    return volume;
  }

  /** The registered volume, if any. */
  get(tenant: string, name: string): Volume | undefined {
    return this.#byKey.get(key(tenant, name));
  }

  /** The volume whose real root is `root`, if any (how a checked path finds its account). */
  byRoot(root: string): Volume | undefined {
    return this.#byRoot.get(root);
  }

  /** Every registered volume of `tenant`. */
  of(tenant: string): Volume[] {
    return [...this.#byKey.values()].filter((v) => v.tenant === tenant);
  }

  /**
   * Forget a volume (no new mount finds it); its files stay until
   * {@linkcode VolumeSet.destroy}. Returns it, or undefined if unknown.
   * The caller checks `mounts` first (a mounted volume is a programmer error here).
   */
  detach(tenant: string, name: string): Volume | undefined {
    const volume = this.get(tenant, name);
    if (volume === undefined) return undefined;
    if (volume.mounts > 0) throw new Error(`assertion failed: volume ${name} detached while mounted`);
    this.#byKey.delete(key(tenant, name));
    this.#byRoot.delete(volume.root);
    return volume;
  }

  /** Register a detached volume again (its delete was refused by the store). */
  reattach(volume: Volume): void {
    this.#byKey.set(key(volume.tenant, volume.name), volume);
    this.#byRoot.set(volume.root, volume);
  }

  /** Remove a detached volume's directory and everything in it. */
  async destroy(volume: Volume): Promise<void> {
    await Deno.remove(volume.root, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /**
   * Remove every volume directory of `tenant` that is not registered (a
   * delete whose removal a crash interrupted). Returns how many.
   */
  async removeStale(tenant: string): Promise<number> {
    const dir = `${this.#base}/${tenant}`;
    const stale: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (this.get(tenant, entry.name) === undefined) stale.push(entry.name);
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return 0;
      throw err;
    }
    await Promise.all(stale.map((name) => Deno.remove(`${dir}/${name}`, { recursive: true }).catch(() => {})));
    return stale.length;
  }

  /** Tenants with a directory under `volumes/` (for a sweep at start). */
  async tenantDirs(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.#base)) if (entry.isDirectory) out.push(entry.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out;
  }
}

function key(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}

/** Remove `tempFilePrefix` files anywhere beneath `dir` (what an interrupted write left). */
async function removeTempFiles(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await removeTempFiles(path);
    else if (entry.isFile && entry.name.startsWith(tempFilePrefix)) await Deno.remove(path).catch(() => {});
  }
}
