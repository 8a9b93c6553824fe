/**
 * File operations for the files API (uploads, downloads, listings), on
 * `CheckedPath`s confined exactly like an agent's syscalls and charged to
 * the same account (the agent's workspace quota, or a volume's).
 *
 * An upload streams into a temporary file at the account's root (`.agentos-tmp-<hex>`,
 * never listed), counting bytes as they arrive: past `bytesMax` or past
 * what the quota leaves, it stops and the temporary file is removed. Only
 * then, under the account's mutation lock, is the target confined again,
 * its missing parents made, the quota checked on the result and the
 * temporary file renamed over the target — one `rename(2)` on one file
 * system, so a reader sees the old file or the new one, never a part.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { readDirEntriesMax } from "../../kernel/mod.ts";
import type { CheckedPath } from "../../kernel/syscall/mod.ts";
import { confinePath, verifyOpened } from "../path/mod.ts";
import { type DiskAccount, makeDir, type MutationLocks } from "./disk.ts";
import { fsError } from "./errors.ts";
import { tempFilePrefix } from "./volumes.ts";

/** One entry of a listing. */
export interface FileEntry {
  name: string;
  size: number;
  isDirectory: boolean;
  /** Last modification, ISO 8601 (null if the file system has none). */
  mtime: string | null;
}

/** Where an upload goes: the account it is charged to and the lock it takes. */
export interface UploadTarget {
  account: DiskAccount;
  locks: MutationLocks;
  checked: CheckedPath;
}

/**
 * Stream `body` into `target` atomically (see the module doc).
 *
 * @param bytesMax the largest file accepted, bytes
 * @returns the bytes written
 * @throws {KernelError} `E2BIG` past `bytesMax`, `ENOSPC` past the quota, `EISDIR`, `EACCES`, or the mapped fs error;
 *   whatever reading `body` throws. Nothing is left behind on any of them.
 */
export async function uploadStreamed(
  target: UploadTarget,
  body: ReadableStream<Uint8Array>,
  bytesMax: number,
): Promise<number> {
  const { checked, account } = target;
  if (checked.relative === "." || checked.seen?.kind === "dir") throw new KernelError("EISDIR", "is a directory");
  const name = `${tempFilePrefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const temp = await confinePath(checked.root, name, "write", checked.mount);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp.real, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    throw fsError(err);
  }
  let written = 0;
  try {
    await verifyOpened(file, temp);
    const before = checked.seen?.size ?? 0;
    for await (const chunk of body) {
      written += chunk.length;
      if (written > bytesMax) throw new KernelError("E2BIG", `file larger than ${bytesMax} bytes`);
      account.ensureRoom(written - before, checked.seen === null ? 1 : 0);
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    }
    file.close();
    await target.locks.run(checked.root, () => commitUpload(target, temp, written));
    return written;
  } catch (err) {
    try {
      file.close();
    } catch { /* closed already */ }
    await Deno.remove(temp.real).catch(() => {});
    throw fsError(err);
  }
}

/** Under the lock: confine the target again, make its parents, check the quota on the result, rename. */
async function commitUpload(target: UploadTarget, temp: CheckedPath, size: number): Promise<void> {
  const { account, checked } = target;
  const now = await confinePath(checked.root, checked.relative, "write", checked.mount);
  if (now.seen?.kind === "dir") throw new KernelError("EISDIR", "is a directory");
  if (now.seen !== null && now.seen.kind !== "file") throw new KernelError("EACCES", "path is not a regular file");
  const slash = now.relative.lastIndexOf("/");
  if (slash !== -1) {
    const parent = await confinePath(checked.root, now.relative.slice(0, slash), "write", checked.mount);
    if (parent.seen === null) await makeDir(account, parent, true);
    else if (parent.seen.kind !== "dir") throw new KernelError("ENOTDIR", "a path segment is not a directory");
  }
  const before = now.seen?.size ?? 0;
  const newFile = now.seen === null ? 1 : 0;
  account.ensureRoom(size - before, newFile);
  try {
    await Deno.rename(temp.real, now.real);
  } catch (err) {
    throw fsError(err);
  }
  account.charge(size - before, newFile);
}

/**
 * Open a checked regular file for reading and prove it is what the check saw.
 *
 * @returns the open handle and its `fstat`
 * @throws {KernelError} `ENOENT`, `EISDIR`, `EACCES` (swapped, hard-linked)
 */
export async function openChecked(checked: CheckedPath): Promise<{ file: Deno.FsFile; info: Deno.FileInfo }> {
  if (checked.seen === null) throw new KernelError("ENOENT", "no such file or directory");
  if (checked.seen.kind === "dir") throw new KernelError("EISDIR", "is a directory");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(checked.real, { read: true });
  } catch (err) {
    throw fsError(err);
  }
  try {
    const info = await verifyOpened(file, checked);
    if (!info.isFile) throw new KernelError("EACCES", "path is not a regular file");
    return { file, info };
  } catch (err) {
    file.close();
    throw fsError(err);
  }
}

/**
 * List a checked directory (temporary files of writes in progress are not shown), sorted by name.
 *
 * @throws {KernelError} `ENOENT`, `ENOTDIR`, `E2BIG` past `readDirEntriesMax`
 */
export async function listChecked(checked: CheckedPath): Promise<FileEntry[]> {
  if (checked.seen === null) throw new KernelError("ENOENT", "no such file or directory");
  if (checked.seen.kind !== "dir") throw new KernelError("ENOTDIR", "not a directory");
  const entries: FileEntry[] = [];
  try {
    for await (const entry of Deno.readDir(checked.real)) {
      if (entry.name.startsWith(tempFilePrefix)) continue;
      if (entries.length >= readDirEntriesMax) {
        throw new KernelError("E2BIG", `directory has more than ${readDirEntriesMax} entries`);
      }
      const info = await Deno.lstat(`${checked.real}/${entry.name}`).catch(() => null);
      if (info === null) continue; // removed meanwhile
      entries.push({
        name: entry.name,
        size: info.isDirectory ? 0 : info.size,
        isDirectory: info.isDirectory,
        mtime: info.mtime?.toISOString() ?? null,
      });
    }
  } catch (err) {
    throw fsError(err);
  }
  return entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
