/**
 * The fs.* syscall rows, the workspaces they act in, volumes and their
 * mounts, exact disk accounting, and the file operations of the files API.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

import type { PathAccess } from "../../kernel/syscall/mod.ts";
import type { ResolvedPath } from "./mounts.ts";
import type { Workspaces } from "./workspace.ts";

export { type DiskAccount, procAccount, removeChecked, seedDir, seedFile } from "./disk.ts";
export { MutationLocks } from "./disk.ts";
export { fsError } from "./errors.ts";
export { type FileEntry, listChecked, openChecked, uploadStreamed, type UploadTarget } from "./files.ts";
export { type Mount, type MountSpec, releaseMounts, type ResolvedPath, takeMounts } from "./mounts.ts";
export { fsSyscalls, readFile as readCheckedFile } from "./syscalls.ts";
export { tempFilePrefix, Volume, volumeNamePattern, type VolumeQuota, VolumeSet } from "./volumes.ts";
export { removeEntries, Workspaces } from "./workspace.ts";

/**
 * Confine a path for an agent with its mounts, exactly as its `fs.*`
 * syscalls are confined: beneath its workspace, or beneath a mounted
 * volume's root when the path lies at or under a mount point (`EROFS` for a
 * write to a read-only mount). For anything that reads an agent's files on
 * its behalf (the module loader, the files API).
 *
 * @param workspaces the runtime's workspaces (`runtime.workspaces`)
 * @param pid the agent
 * @param raw the path as the agent names it (workspace-relative)
 * @param access how it is touched
 * @returns the checked path, the root it lies under and the mount, if any
 * @throws {KernelError} `ESRCH` (no workspace: the agent ended), `EACCES` (escape), `EROFS`
 * @example
 * ```ts
 * const { checked } = await resolveAgentPath(runtime.workspaces, agent.pid, "./util.ts", "read");
 * const text = await Deno.readTextFile(checked.real);
 * ```
 */
export function resolveAgentPath(
  workspaces: Workspaces,
  pid: number,
  raw: unknown,
  access: PathAccess,
): Promise<ResolvedPath> {
  return workspaces.resolve(pid, raw, access);
}
