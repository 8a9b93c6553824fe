/**
 * Use-time path confinement: turns a guest path into a `CheckedPath`, the
 * only type the fs handlers accept. A checked path is resolved once and
 * carried through the call: the workspace root, the real absolute path, the
 * workspace-relative form the policy layer matches, and what the check saw
 * at the target (kind, size, nlink, ino/dev).
 *
 * After the lexical check the path is resolved against the real file system
 * *now*:
 *
 * 1. `lstat` the lexical path beneath the real root: the target's identity
 *    (through a final symlink, `stat` for the target's own). Nothing there:
 *    step 3.
 * 2. `realPath` it: it must stay beneath the root, so a symlink anywhere on
 *    the way that points out is refused. A regular file with nlink > 1 is
 *    refused (it may alias a file outside); so is a dangling symlink.
 * 3. A path that does not exist yet: the deepest existing ancestor is
 *    `realPath`-ed and must stay beneath the root, and the first missing
 *    segment must not be a (dangling) symlink.
 *
 * Handlers prove what they opened with {@linkcode verifyOpened}: the handle
 * must be the inode step 1 saw and the real path must still resolve to
 * itself after the open. The identity is taken *before* the resolution on
 * purpose: a host process that swaps a directory for a symlink must then
 * win four alternations (swapped at 1, real at 2, swapped at the open, real
 * after it), as many as the six-call design before it demanded. That race
 * stays the documented limitation (docs/design.md, Confinement).
 *
 * Metadata calls: an existing file costs 2 here and 2 in `verifyOpened`.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import type { CheckedPath, PathAccess, PathSeen } from "../../kernel/syscall/mod.ts";
import { normalizeGuestPath } from "./normalize.ts";

/**
 * Check `raw` beneath `root` (a real, symlink-free absolute directory path).
 *
 * @param root the workspace's real root (or a mounted volume's)
 * @param raw the guest's path (workspace-relative POSIX; for a volume, relative to the volume's root)
 * @param _access how the call touches it (every access is checked alike)
 * @param mount the mount point (workspace-relative) when `root` is a mounted volume's root
 * @returns the checked path, with what the check saw at its target
 * @throws {KernelError} `EACCES` on escape, `ENOTDIR` through a file, `EINVAL` on a non-string
 * @example
 * ```ts
 * const checked = await confinePath(root, "data/../notes.txt", "read");
 * checked.relative; // "notes.txt"
 * ```
 */
export async function confinePath(
  root: string,
  raw: unknown,
  _access: PathAccess,
  mount?: string,
): Promise<CheckedPath> {
  const segments = normalizeGuestPath(raw);
  const lexical = segments.length === 0 ? root : `${root}/${segments.join("/")}`;
  const target = await lstatOrNull(lexical);
  const found = target === null ? null : await resolveExisting(root, lexical, target, mount);
  return found ?? await resolveMissing(root, segments, target === null, mount);
}

/**
 * After opening `checked`, prove the handle is the file the check saw: the
 * real path still resolves to itself and the handle is the inode the check
 * saw. When the check saw nothing there (a file just created) or another
 * inode (the file was replaced since, e.g. renamed over), the handle must be
 * the inode the path names now, and the path must still resolve to itself
 * after that.
 *
 * @param file the handle opened at `checked.real`
 * @param checked the path it was opened at
 * @returns the handle's `fstat` (reuse it: size, kind)
 * @throws {KernelError} `EACCES` if the file was swapped after the check or is hard-linked
 * @example
 * ```ts
 * using file = await Deno.open(checked.real, { read: true });
 * const { size } = await verifyOpened(file, checked);
 * ```
 */
export async function verifyOpened(file: Deno.FsFile, checked: CheckedPath): Promise<Deno.FileInfo> {
  const [handle, stays] = await Promise.all([file.stat(), resolvesToItself(checked.real)]);
  if (!stays) throw changed();
  const seen = checked.seen;
  if (seen === null || seen.ino === null || seen.ino !== handle.ino || seen.dev !== handle.dev) {
    const now = await Deno.lstat(checked.real).catch(() => null);
    if (now === null || now.ino !== handle.ino || now.dev !== handle.dev) throw changed();
    if (!(await resolvesToItself(checked.real))) throw changed();
  }
  if (handle.isFile && (handle.nlink ?? 1) > 1) throw hardLinked();
  return handle;
}

/** Whether `path` is `root` or beneath it. */
export function isBeneath(root: string, path: string): boolean {
  return path === root || path.startsWith(root + "/");
}

/** Steps 1–2 for a path `lstat` found; null if it vanished before `realPath` (then it is treated as missing). */
async function resolveExisting(
  root: string,
  lexical: string,
  target: Deno.FileInfo,
  mount: string | undefined,
): Promise<CheckedPath | null> {
  const info = target.isSymlink ? await statThrough(lexical) : target;
  let real: string;
  try {
    real = await Deno.realPath(lexical);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw escape(err);
  }
  if (!isBeneath(root, real)) throw outside(mount);
  if (info.isFile && (info.nlink ?? 1) > 1) throw hardLinked();
  return mint(root, real, seenOf(info), mount);
}

/**
 * Step 3: resolve the deepest existing ancestor for real. `absent` says
 * step 1 saw nothing at the full path, so a lone missing last segment is
 * known not to be a dangling symlink.
 */
async function resolveMissing(
  root: string,
  segments: string[],
  absent: boolean,
  mount: string | undefined,
): Promise<CheckedPath> {
  let existing = Math.max(0, segments.length - 1);
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
  if (!isBeneath(root, real)) throw outside(mount);
  const rest = segments.slice(existing);
  if (rest.length > 1 || (rest.length === 1 && !absent)) await refuseSymlink(`${real}/${rest[0]}`);
  return mint(root, rest.length === 0 ? real : `${real}/${rest.join("/")}`, null, mount);
}

/** The one place a `CheckedPath` is made. */
function mint(root: string, real: string, seen: PathSeen | null, mount: string | undefined): CheckedPath {
  const relative = real === root ? "." : real.slice(root.length + 1);
  const checked = mount === undefined ? { root, real, relative, seen } : { root, real, relative, seen, mount };
  return Object.freeze(checked) as CheckedPath;
}

function outside(mount: string | undefined): KernelError {
  return new KernelError(
    "EACCES",
    mount === undefined
      ? "path resolves outside the workspace"
      : `path resolves outside the volume mounted at ${mount}`,
  );
}

function seenOf(info: Deno.FileInfo): PathSeen {
  return Object.freeze({
    kind: info.isFile ? "file" : info.isDirectory ? "dir" : "other",
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? null,
    nlink: info.nlink ?? 1,
    ino: info.ino,
    dev: info.dev,
  });
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw escape(err);
  }
}

/** The target of a symlink; a dangling one is refused. */
async function statThrough(path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw dangling();
    throw escape(err);
  }
}

async function refuseSymlink(path: string): Promise<void> {
  const info = await lstatOrNull(path);
  if (info?.isSymlink) throw dangling();
}

async function resolvesToItself(path: string): Promise<boolean> {
  return await Deno.realPath(path).then((real) => real === path, () => false);
}

function changed(): KernelError {
  return new KernelError("EACCES", "path changed between check and use");
}

function hardLinked(): KernelError {
  return new KernelError("EACCES", "hard-linked files are not allowed");
}

function dangling(): KernelError {
  return new KernelError("EACCES", "path is a symlink that does not resolve inside the workspace");
}

function escape(err: unknown): KernelError {
  if (err instanceof KernelError) return err;
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return new KernelError("EACCES", "path is outside what the sandbox may touch");
  }
  if (err instanceof Deno.errors.NotADirectory) return new KernelError("ENOTDIR", "a path segment is not a directory");
  return new KernelError("EACCES", "path could not be resolved inside the workspace");
}
