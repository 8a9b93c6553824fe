/**
 * The fs.* syscall rows, the workspaces they act in, and exact disk accounting.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { seedFile } from "./disk.ts";
export { fsError } from "./errors.ts";
export { fsSyscalls, readFile as readCheckedFile } from "./syscalls.ts";
export { removeEntries, Workspaces } from "./workspace.ts";
