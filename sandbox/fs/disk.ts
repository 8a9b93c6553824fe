/**
 * The workspace's mutating operations with exact disk accounting.
 *
 * An agent's usage is `diskBytes` (file contents plus `directoryBytes` per
 * directory) and `files` (files and directories, i.e. inodes), each capped
 * by its limit. Mutations of one agent run one at a time (a per-agent lock),
 * so the quota is checked and charged with nothing in between: concurrent
 * writes cannot pass a quota together, and every failure path leaves usage
 * equal to what is on disk.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { directoryBytes } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import type { CheckedPath } from "../../kernel/syscall/mod.ts";
import { confinePath, verifyOpened } from "../path/mod.ts";
import { fsError } from "./errors.ts";

/** Bytes and entries beneath (and including) a path. */
export interface TreeStats {
  bytes: number;
  files: number;
}

/**
 * Serialises the fs mutations of each account: keyed by the checked path's
 * root (an agent's workspace, or a volume shared by agents and the files API).
 */
export class MutationLocks {
  #tails = new Map<string | number, Promise<void>>();

  /** Run `fn` once every earlier mutation under `key` has finished. */
  async run<T>(key: string | number, fn: () => Promise<T>): Promise<T> {
    const pid = key;
    const before = this.#tails.get(pid) ?? Promise.resolve();
    const { promise: done, resolve } = Promise.withResolvers<void>();
    this.#tails.set(pid, done);
    await before;
    try {
      return await fn();
    } finally {
      resolve();
      if (this.#tails.get(pid) === done) this.#tails.delete(pid);
    }
  }

  /** Accounts with a mutation queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}

/**
 * Where a mutation's bytes and entries are charged: an agent's workspace
 * (its `diskBytes` and `filesMax`) or a volume (its quota, shared by every
 * agent that mounts it). Mutations of one account run one at a time (the
 * `MutationLocks` key is the checked path's root).
 */
export interface DiskAccount {
  /**
   * Refuse with `ENOSPC` unless `bytes` more and `files` more entries fit.
   *
   * @throws {KernelError} `ENOSPC` naming the limit
   */
  ensureRoom(bytes: number, files: number): void;
  /** Add (or, negative, give back) bytes and entries. */
  charge(bytes: number, files: number): void;
}

/**
 * The account of an agent's own workspace.
 *
 * @param proc the agent
 * @returns its `diskBytes` / `filesMax` account
 * @example
 * ```ts
 * await writeChecked(procAccount(proc), checked, data, false);
 * ```
 */
export function procAccount(proc: Process): DiskAccount {
  return {
    ensureRoom: (bytes, files) => ensureRoom(proc, bytes, files),
    charge: (bytes, files) => {
      proc.usage.diskBytes = Math.max(0, proc.usage.diskBytes + bytes);
      proc.usage.files = Math.max(0, proc.usage.files + files);
    },
  };
}

/**
 * Refuse with `ENOSPC` unless `bytes` more and `files` more entries fit the
 * agent's limits.
 *
 * @throws {KernelError} `ENOSPC` naming the limit
 */
export function ensureRoom(proc: Process, bytes: number, files: number): void {
  const usage = proc.usage;
  if (usage.diskBytes + bytes > proc.limits.diskBytes) {
    throw new KernelError("ENOSPC", `workspace quota of ${proc.limits.diskBytes} bytes exceeded`);
  }
  if (usage.files + files > proc.limits.filesMax) {
    throw new KernelError("ENOSPC", `workspace limit of ${proc.limits.filesMax} files and directories reached`);
  }
}

function charge(account: DiskAccount, bytes: number, files: number): void {
  account.charge(bytes, files);
}

/** Prefix of the temporary file a replacing write goes through (same directory as its target). */
const writeTempPrefix = ".agentos-tmp-";

/**
 * Write (or append) `data` to a checked path, creating the file if needed.
 * Call under the account's mutation lock. Nothing of the previous content is
 * lost when a write fails (a full disk, a quota): a new file is removed
 * again, an existing one is replaced by renaming a complete temporary copy
 * over it (written beside it, removed on failure), and an append is cut
 * back to its previous length. The quota is checked before anything is
 * changed, on the size the target has now; usage changes only by what a
 * write that succeeded changed on disk.
 *
 * @throws {KernelError} `ENOSPC` (quota, or the server's disk is full), `EISDIR`, `EEXIST` (`createNewOnly`),
 *   `EACCES` (swapped or hard-linked path) or the mapped fs error
 */
export async function writeChecked(
  account: DiskAccount,
  checked: CheckedPath,
  data: Uint8Array,
  append: boolean,
  createNewOnly = false,
): Promise<void> {
  if (checked.seen?.kind === "dir") throw new KernelError("EISDIR", "is a directory");
  if (checked.seen !== null && createNewOnly) throw new KernelError("EEXIST", "file exists");
  if (createNewOnly) {
    await writeNew(account, checked, data, true);
    return;
  }
  // What the check saw is a hint taken before the lock (an earlier mutation of the agent may have changed
  // it): each way finds out what is there now, and a file that appears meanwhile is written over, once.
  if (append ? await appendExisting(account, checked, data) : await replaceExisting(account, checked, data)) return;
  if (await writeNew(account, checked, data, false)) return;
  if (append ? await appendExisting(account, checked, data) : await replaceExisting(account, checked, data)) return;
  throw new KernelError("EACCES", "path changed between check and use");
}

/**
 * The size of the regular file at `checked` now (one `lstat`), or null if
 * nothing is there. It is never opened: a replacing write renames a new
 * file over it, and that file's directory is verified when it is opened.
 *
 * @throws {KernelError} `EISDIR`, `EACCES` (a symlink or other non-file swapped in, a hard link)
 */
async function currentSize(checked: CheckedPath): Promise<number | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(checked.real);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw fsError(err);
  }
  if (info.isDirectory) throw new KernelError("EISDIR", "is a directory");
  if (!info.isFile) throw new KernelError("EACCES", "path changed between check and use");
  if ((info.nlink ?? 1) > 1) throw new KernelError("EACCES", "hard-linked files are not allowed");
  return info.size;
}

/**
 * Create `checked` with `data`; on failure the file is removed again and
 * nothing is charged. False when a file appeared there meanwhile (and
 * `createNewOnly` is not set): the caller writes over it.
 */
async function writeNew(
  account: DiskAccount,
  checked: CheckedPath,
  data: Uint8Array,
  createNewOnly: boolean,
): Promise<boolean> {
  account.ensureRoom(data.length, 1);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(checked.real, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists && !createNewOnly) return false;
    throw fsError(err);
  }
  try {
    await verifyOpened(file, checked);
  } catch (err) {
    file.close();
    charge(account, 0, 1); // it is not known what the path names now: the inode made stays charged
    throw err;
  }
  await writeAllOrRemove(account, file, checked.real, data);
  charge(account, data.length, 1);
  return true;
}

/**
 * Replace the file at `checked` (false if there is none): write a
 * temporary file in the same directory (confined like any path the agent
 * names), then rename it over the target. The target is never opened for
 * writing, so a failure leaves it exactly as it was. The quota is checked
 * on the result; the temporary copy is the only excess while it is written
 * (one file per agent at a time: its mutations run one at a time).
 */
async function replaceExisting(account: DiskAccount, checked: CheckedPath, data: Uint8Array): Promise<boolean> {
  const before = await currentSize(checked);
  if (before === null) return false;
  account.ensureRoom(data.length - before, 0);
  const slash = checked.relative.lastIndexOf("/");
  const name = `${writeTempPrefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const temp = await confinePath(
    checked.root,
    slash === -1 ? name : `${checked.relative.slice(0, slash)}/${name}`,
    "write",
  );
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp.real, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    throw fsError(err);
  }
  try {
    await verifyOpened(file, temp);
  } catch (err) {
    file.close();
    charge(account, 0, 1); // as for a new file: what the path names now is not known
    throw err;
  }
  await writeAllOrRemove(account, file, temp.real, data);
  try {
    await Deno.rename(temp.real, checked.real);
  } catch (err) {
    await removeTemp(account, temp.real, data.length);
    throw fsError(err);
  }
  charge(account, data.length - before, 0);
  return true;
}

/** Write all of `data` to the new file `file` at `path` and close it; on failure remove it and rethrow. */
async function writeAllOrRemove(
  account: DiskAccount,
  file: Deno.FsFile,
  path: string,
  data: Uint8Array,
): Promise<void> {
  try {
    let offset = 0;
    while (offset < data.length) offset += await file.write(data.subarray(offset));
  } catch (err) {
    const size = await file.stat().then((s) => s.size, () => data.length);
    file.close();
    await removeTemp(account, path, size);
    throw fsError(err);
  }
  file.close();
}

/** Remove a file this write made; if that fails, charge it (usage stays what is on disk). */
async function removeTemp(account: DiskAccount, path: string, size: number): Promise<void> {
  await Deno.remove(path).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) charge(account, size, 1);
  });
}

/** Append to the file at `checked` in place (false if there is none); a failed append is cut back to its length. */
async function appendExisting(account: DiskAccount, checked: CheckedPath, data: Uint8Array): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(checked.real, { write: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw fsError(err);
  }
  using _ = file;
  const info = await verifyOpened(file, checked);
  if (info.isDirectory) throw new KernelError("EISDIR", "is a directory");
  const before = info.size;
  account.ensureRoom(data.length, 0);
  try {
    await file.seek(0, Deno.SeekMode.End);
    let offset = 0;
    while (offset < data.length) offset += await file.write(data.subarray(offset));
  } catch (err) {
    await file.truncate(before).catch(() => {});
    // If the cut failed too, charge what is on disk now.
    const now = await file.stat().then((s) => s.size, () => before);
    charge(account, now - before, 0);
    throw fsError(err);
  }
  charge(account, data.length, 0);
  return true;
}

/**
 * Create a directory (and, with `recursive`, its missing parents), charging
 * each directory made. Call under the account's mutation lock.
 *
 * @throws {KernelError} `EEXIST`, `ENOENT` (missing parent), `ENOTDIR`, `ENOSPC`
 */
export async function makeDir(account: DiskAccount, checked: CheckedPath, recursive: boolean): Promise<void> {
  const root = checked.root;
  if (checked.relative === ".") {
    if (recursive) return;
    throw new KernelError("EEXIST", "file exists");
  }
  const segments = checked.relative.split("/");
  for (let i = 1; i <= segments.length; i++) {
    const path = `${root}/${segments.slice(0, i).join("/")}`;
    const last = i === segments.length;
    const info = await Deno.lstat(path).catch((err) => {
      if (err instanceof Deno.errors.NotFound) return null;
      throw fsError(err);
    });
    if (info !== null) {
      if (!info.isDirectory) {
        throw new KernelError(last ? "EEXIST" : "ENOTDIR", last ? "file exists" : "not a directory");
      }
      if (last && !recursive) throw new KernelError("EEXIST", "file exists");
      continue;
    }
    if (!last && !recursive) throw new KernelError("ENOENT", "no such file or directory");
    account.ensureRoom(directoryBytes, 1);
    await Deno.mkdir(path, { mode: 0o700 }).catch((err) => {
      throw fsError(err);
    });
    charge(account, directoryBytes, 1);
  }
}

/**
 * Remove a file or (with `recursive`) a tree, giving its bytes and entries
 * back. Call under the account's mutation lock.
 *
 * @throws {KernelError} `EACCES` for the root, `ENOTEMPTY`, or the mapped fs error
 */
export async function removeChecked(account: DiskAccount, checked: CheckedPath, recursive: boolean): Promise<void> {
  if (checked.relative === ".") {
    throw new KernelError(
      "EACCES",
      checked.mount === undefined
        ? "cannot remove the workspace root"
        : `cannot remove the mount point ${checked.mount}`,
    );
  }
  const stats = await treeStats(checked);
  await Deno.remove(checked.real, { recursive }).catch((err) => {
    throw fsError(err);
  });
  charge(account, -stats.bytes, -stats.files);
}

/**
 * Rename within the workspace; a replaced destination gives its bytes and
 * entries back. Call under the account's mutation lock.
 *
 * @throws {KernelError} `EINVAL` when moving a directory into itself, `EACCES` for the root
 */
export async function renameChecked(account: DiskAccount, from: CheckedPath, to: CheckedPath): Promise<void> {
  if (from.root !== to.root) {
    const where = (p: CheckedPath) => p.mount === undefined ? "the workspace" : `the volume mounted at ${p.mount}`;
    throw new KernelError(
      "EXDEV",
      `cannot rename from ${where(from)} to ${where(to)} (a mount boundary): copy the file and remove the original`,
    );
  }
  if (from.relative === "." || to.relative === ".") {
    throw new KernelError("EACCES", "cannot rename the workspace root or a mount point");
  }
  if (to.real.startsWith(`${from.real}/`)) throw new KernelError("EINVAL", "cannot move a directory into itself");
  if (from.real === to.real) return;
  const replaced = await treeStats(to);
  await Deno.rename(from.real, to.real).catch((err) => {
    throw fsError(err);
  });
  charge(account, -replaced.bytes, -replaced.files);
}

/**
 * Bytes and entries of `checked` and everything beneath it, as on disk now
 * (symlinks are not followed; a missing path is empty). Call under the
 * agent's mutation lock.
 */
export function treeStats(checked: CheckedPath): Promise<TreeStats> {
  return statsAt(checked.real);
}

/** Bytes and entries of `path` and everything beneath it, as on disk now (symlinks not followed). */
export async function statsAt(path: string): Promise<TreeStats> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { bytes: 0, files: 0 };
    throw fsError(err);
  }
  if (!info.isDirectory) return { bytes: info.isFile ? info.size : 0, files: 1 };
  const total = { bytes: directoryBytes, files: 1 };
  try {
    for await (const entry of Deno.readDir(path)) {
      const sub = await statsAt(`${path}/${entry.name}`);
      total.bytes += sub.bytes;
      total.files += sub.files;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err);
  }
  return total;
}

/**
 * Seed one caller-provided file before the agent runs: trusted input, still
 * confined and quota-checked. Missing parent directories are made; the file
 * must not exist yet.
 *
 * @param root the agent's workspace root
 * @param proc the agent (its quota is charged)
 * @param path workspace-relative path of the file
 * @param data its contents
 * @throws {KernelError} `EACCES` (escape), `EISDIR` (the root), `EEXIST`, `ENOSPC` or the mapped fs error
 */
export async function seedFile(root: string, proc: Process, path: string, data: Uint8Array): Promise<void> {
  const account = procAccount(proc);
  const checked = await confinePath(root, path, "write");
  if (checked.relative === ".") throw new KernelError("EISDIR", "is the workspace root");
  const slash = checked.relative.lastIndexOf("/");
  if (slash !== -1) await makeDir(account, await confinePath(root, checked.relative.slice(0, slash), "write"), true);
  await writeChecked(account, checked, data, false, true);
}

/**
 * Make a directory (and its parents) in a workspace before the agent runs,
 * charged to the agent: a volume's mount point.
 *
 * @param root the agent's workspace root
 * @param proc the agent (its quota is charged)
 * @param path workspace-relative path of the directory
 * @throws {KernelError} `EACCES` (escape), `ENOTDIR`, `ENOSPC` or the mapped fs error
 */
export async function seedDir(root: string, proc: Process, path: string): Promise<void> {
  await makeDir(procAccount(proc), await confinePath(root, path, "write"), true);
}
