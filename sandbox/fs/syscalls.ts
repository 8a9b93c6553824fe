/**
 * The `fs.*` syscall rows. Each row declares its schema, capability and the
 * paths it touches; the dispatcher has already confined those paths to
 * `CheckedPath`s by the time a handler runs. Handlers only perform the I/O,
 * re-verify what they opened, and keep the disk quota.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../../kernel/errno.ts";
import { fileBytesMax, readDirEntriesMax } from "../../kernel/limits.ts";
import type { Process } from "../../kernel/process/table.ts";
import { type CheckedPath, defineSyscall, type SyscallDef } from "../../kernel/syscall/table.ts";
import { verifyOpened } from "../path/confine.ts";
import { treeBytes, type Workspaces } from "./workspace.ts";

const path = z.string().max(8192);
const pathArgs = z.strictObject({ path });
const textArgs = z.strictObject({ path, text: z.string().max(fileBytesMax) });
const bytesArgs = z.strictObject({ path, data: z.base64().max(Math.ceil(fileBytesMax / 3) * 4) });
const treeArgs = z.strictObject({ path, recursive: z.boolean().optional() });
const renameArgs = z.strictObject({ from: path, to: path });

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** File kinds as agents see them. */
export type FileKind = "file" | "dir" | "symlink";

/**
 * Build the `fs.*` rows over a workspace registry.
 *
 * @example
 * ```ts
 * const table = new SyscallTable(fsSyscalls(new Workspaces("./data")));
 * ```
 */
export function fsSyscalls(workspaces: Workspaces): SyscallDef[] {
  const read = (args: { path: string }) => [{ path: args.path, access: "read" as const }];
  const write = (args: { path: string }) => [{ path: args.path, access: "write" as const }];
  const readFile = async (proc: Process, checked: CheckedPath): Promise<Uint8Array> => {
    using file = await open(checked, { read: true });
    await verifyOpened(file, checked, workspaces.root(proc.pid));
    const info = await file.stat();
    if (info.isDirectory) throw new KernelError("EISDIR", "is a directory");
    if (info.size > fileBytesMax) throw new KernelError("E2BIG", `file larger than ${fileBytesMax} bytes`);
    const bytes = new Uint8Array(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = await file.read(bytes.subarray(offset));
      if (n === null) break;
      offset += n;
    }
    return bytes.subarray(0, offset);
  };
  const writeFile = (proc: Process, checked: CheckedPath, data: Uint8Array, append: boolean) =>
    writeChecked(workspaces.root(proc.pid), proc, checked, data, append);

  return [
    defineSyscall({
      name: "fs.readText",
      args: pathArgs,
      capability: "fs.read",
      paths: read,
      handler: async ({ proc, paths, addBytes }) => {
        const bytes = await readFile(proc, paths[0]);
        addBytes(bytes.length);
        try {
          return decoder.decode(bytes);
        } catch {
          throw new KernelError("EINVAL", "file is not valid UTF-8; use fs.readBytes");
        }
      },
    }),
    defineSyscall({
      name: "fs.readBytes",
      args: pathArgs,
      capability: "fs.read",
      paths: read,
      handler: async ({ proc, paths, addBytes }) => {
        const bytes = await readFile(proc, paths[0]);
        addBytes(bytes.length);
        return bytes.toBase64();
      },
    }),
    defineSyscall({
      name: "fs.writeText",
      args: textArgs,
      capability: "fs.write",
      paths: write,
      handler: ({ proc, args, paths, addBytes }) => {
        const data = encoder.encode(args.text);
        addBytes(data.length);
        return writeFile(proc, paths[0], data, false);
      },
    }),
    defineSyscall({
      name: "fs.writeBytes",
      args: bytesArgs,
      capability: "fs.write",
      paths: write,
      handler: ({ proc, args, paths, addBytes }) => {
        const data = Uint8Array.fromBase64(args.data);
        addBytes(data.length);
        return writeFile(proc, paths[0], data, false);
      },
    }),
    defineSyscall({
      name: "fs.append",
      args: textArgs,
      capability: "fs.write",
      paths: write,
      handler: ({ proc, args, paths, addBytes }) => {
        const data = encoder.encode(args.text);
        addBytes(data.length);
        return writeFile(proc, paths[0], data, true);
      },
    }),
    defineSyscall({
      name: "fs.stat",
      args: pathArgs,
      capability: "fs.read",
      paths: read,
      handler: async ({ paths }) => {
        const info = await lstat(paths[0]);
        return { kind: kindOf(info), size: info.size, mtimeMs: info.mtime?.getTime() ?? null };
      },
    }),
    defineSyscall({
      name: "fs.readDir",
      args: pathArgs,
      capability: "fs.read",
      paths: read,
      handler: async ({ paths }) => {
        const entries: { name: string; kind: FileKind }[] = [];
        try {
          for await (const entry of Deno.readDir(paths[0])) {
            if (entries.length >= readDirEntriesMax) {
              throw new KernelError("E2BIG", `directory has more than ${readDirEntriesMax} entries`);
            }
            entries.push({ name: entry.name, kind: entry.isDirectory ? "dir" : entry.isSymlink ? "symlink" : "file" });
          }
        } catch (err) {
          throw fsError(err);
        }
        return entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      },
    }),
    defineSyscall({
      name: "fs.mkdir",
      args: treeArgs,
      capability: "fs.write",
      paths: write,
      handler: async ({ paths, args }) => {
        await Deno.mkdir(paths[0], { recursive: args.recursive ?? false, mode: 0o700 }).catch((err) => {
          throw fsError(err);
        });
      },
    }),
    defineSyscall({
      name: "fs.remove",
      args: treeArgs,
      capability: "fs.write",
      paths: write,
      handler: async ({ proc, paths, args }) => {
        const root = workspaces.root(proc.pid);
        if (paths[0] === root) throw new KernelError("EACCES", "cannot remove the workspace root");
        const info = await lstat(paths[0]);
        const bytes = info.isDirectory ? await treeBytes(paths[0]) : info.isFile ? info.size : 0;
        await Deno.remove(paths[0], { recursive: args.recursive ?? false }).catch((err) => {
          throw fsError(err);
        });
        proc.usage.diskBytes = Math.max(0, proc.usage.diskBytes - bytes);
      },
    }),
    defineSyscall({
      name: "fs.rename",
      args: renameArgs,
      capability: "fs.write",
      paths: (args) => [{ path: args.from, access: "write" }, { path: args.to, access: "write" }],
      handler: async ({ proc, paths }) => {
        const root = workspaces.root(proc.pid);
        if (paths[0] === root || paths[1] === root) {
          throw new KernelError("EACCES", "cannot rename the workspace root");
        }
        await Deno.rename(paths[0], paths[1]).catch((err) => {
          throw fsError(err);
        });
      },
    }),
  ];
}

async function writeChecked(
  root: string,
  proc: Process,
  checked: CheckedPath,
  data: Uint8Array,
  append: boolean,
): Promise<void> {
  using file = await open(checked, { write: true, create: true });
  await verifyOpened(file, checked, root);
  const info = await file.stat();
  if (info.isDirectory) throw new KernelError("EISDIR", "is a directory");
  const grow = append ? data.length : data.length - info.size;
  if (proc.usage.diskBytes + grow > proc.limits.diskBytes) {
    throw new KernelError("ENOSPC", `workspace quota of ${proc.limits.diskBytes} bytes exceeded`);
  }
  if (append) {
    await file.seek(0, Deno.SeekMode.End);
  } else {
    await file.truncate(0);
  }
  let offset = 0;
  while (offset < data.length) offset += await file.write(data.subarray(offset));
  proc.usage.diskBytes = Math.max(0, proc.usage.diskBytes + grow);
}

async function open(path: CheckedPath, options: Deno.OpenOptions): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, options);
  } catch (err) {
    throw fsError(err);
  }
}

async function lstat(path: CheckedPath): Promise<Deno.FileInfo> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    throw fsError(err);
  }
}

function kindOf(info: Deno.FileInfo): FileKind {
  return info.isDirectory ? "dir" : info.isSymlink ? "symlink" : "file";
}

const fsMessages: Partial<Record<KernelError["code"], string>> = {
  ENOENT: "no such file or directory",
  EEXIST: "file exists",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
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
  if (message.includes("os error 28")) return new KernelError("ENOSPC");
  return new KernelError("EIO", "file system error");
}
