/**
 * Use-time path confinement: turns a guest path into a `CheckedPath`, the
 * only type the fs handlers accept.
 *
 * After the lexical check, the path is resolved against the real file system
 * *now*: the deepest existing ancestor is `realPath`-ed and must stay beneath
 * the workspace's real root, so a symlink anywhere on the way that points out
 * is refused; an existing target that is a hard link (nlink > 1) is refused,
 * because it may alias a file outside. Handlers re-verify what they opened
 * (see `verifyOpened`) so that a swap between check and use is caught.
 *
 * @module
 */

import { KernelError } from "../../kernel/errno.ts";
import type { CheckedPath, PathAccess } from "../../kernel/syscall/table.ts";
import { normalizeGuestPath } from "./normalize.ts";

/**
 * Check `raw` beneath `root` (a real, symlink-free absolute directory path).
 *
 * @throws {KernelError} `EACCES` on escape, `EINVAL` on a non-string
 */
export async function confinePath(root: string, raw: unknown, _access: PathAccess): Promise<CheckedPath> {
  const segments = normalizeGuestPath(raw);
  // Find the deepest existing ancestor and resolve it for real.
  let existing = segments.length;
  let real: string | undefined;
  while (real === undefined) {
    const candidate = existing === 0 ? root : `${root}/${segments.slice(0, existing).join("/")}`;
    try {
      real = await Deno.realPath(candidate);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound) || existing === 0) throw escape(err);
      existing--;
    }
  }
  if (!isBeneath(root, real)) throw new KernelError("EACCES", "path resolves outside the workspace");
  const rest = segments.slice(existing);
  const checked = rest.length === 0 ? real : `${real}/${rest.join("/")}`;
  if (rest.length === 0) await refuseHardLink(checked);
  // A dangling symlink as the last segment: realPath fails with NotFound,
  // so `lstat` the lexical path and refuse a symlink we could not resolve.
  if (rest.length > 0) await refuseSymlink(`${real}/${rest[0]}`);
  return checked as CheckedPath;
}

/**
 * After opening `checked`, prove the handle is the file the check saw: the
 * path still resolves to itself and names the same inode as the handle.
 *
 * @throws {KernelError} `EACCES` if the file was swapped after the check
 */
export async function verifyOpened(file: Deno.FsFile, checked: CheckedPath, root: string): Promise<void> {
  const [handle, real] = await Promise.all([file.stat(), Deno.realPath(checked).catch(() => "")]);
  if (real !== checked || !isBeneath(root, real)) {
    throw new KernelError("EACCES", "path changed between check and use");
  }
  const now = await Deno.lstat(real);
  if (now.ino !== handle.ino || now.dev !== handle.dev) {
    throw new KernelError("EACCES", "path changed between check and use");
  }
  if (handle.isFile && (handle.nlink ?? 1) > 1) {
    throw new KernelError("EACCES", "hard-linked files are not allowed");
  }
}

/** Whether `path` is `root` or beneath it. */
export function isBeneath(root: string, path: string): boolean {
  return path === root || path.startsWith(root + "/");
}

async function refuseHardLink(path: string): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isFile && (info.nlink ?? 1) > 1) {
    throw new KernelError("EACCES", "hard-linked files are not allowed");
  }
}

async function refuseSymlink(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) throw new KernelError("EACCES", "path is a symlink that does not resolve inside the workspace");
  } catch (err) {
    if (err instanceof KernelError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw escape(err);
  }
}

function escape(err: unknown): KernelError {
  if (err instanceof KernelError) return err;
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return new KernelError("EACCES", "path is outside what the sandbox may touch");
  }
  if (err instanceof Deno.errors.NotADirectory) return new KernelError("ENOTDIR", "a path segment is not a directory");
  return new KernelError("EACCES", "path could not be resolved inside the workspace");
}
