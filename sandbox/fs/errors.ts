/**
 * Host file-system errors as errnos, with messages that name no host path.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";

const fsMessages: Partial<Record<KernelError["code"], string>> = {
  ENOENT: "no such file or directory",
  EEXIST: "file exists",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
  ENOSPC: "the server's disk is full; nothing was written",
};

/** Map a host fs error to an errno with a message that names no host path. */
export function fsError(err: unknown): KernelError {
  if (err instanceof KernelError) return err;
  const table: [new (...args: never[]) => Error, KernelError["code"]][] = [
    [Deno.errors.NotFound, "ENOENT"],
    [Deno.errors.AlreadyExists, "EEXIST"],
    [Deno.errors.IsADirectory, "EISDIR"],
    [Deno.errors.NotADirectory, "ENOTDIR"],
    [Deno.errors.NotCapable, "EACCES"],
    [Deno.errors.PermissionDenied, "EACCES"],
    [Deno.errors.FilesystemLoop, "EACCES"],
  ];
  for (const [cls, code] of table) if (err instanceof cls) return new KernelError(code, fsMessages[code]);
  const message = err instanceof Error ? err.message : "";
  if (message.includes("os error 39")) return new KernelError("ENOTEMPTY");
  if (message.includes("os error 28")) return new KernelError("ENOSPC", fsMessages.ENOSPC);
  return new KernelError("EIO", "file system error");
}
