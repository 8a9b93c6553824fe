/**
 * The `fs.*` syscall rows. Each row declares its schema, capability and the
 * paths it touches; the dispatcher has already confined those paths to
 * `CheckedPath`s by the time a handler runs. Handlers only perform the I/O,
 * verify what they opened against what the check saw (one `fstat`, reused
 * for the size), and keep the disk quota; the workspace root comes with the
 * checked path.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../../kernel/mod.ts";
import { fileBytesMax, readDirEntriesMax } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import { type CheckedPath, defineSyscall, type SyscallDef } from "../../kernel/syscall/mod.ts";
import { resultHoldBytes } from "../../kernel/mod.ts";
import { Base64Value, fromBase64Yielding } from "../../kernel/syscall/mod.ts";
import { verifyOpened } from "../path/mod.ts";
import { type DiskAccount, makeDir, procAccount, removeChecked, renameChecked, writeChecked } from "./disk.ts";
import { fsError } from "./errors.ts";
import type { Workspaces } from "./workspace.ts";

export { fsError };

const path = z.string().max(8192);
const pathArgs = z.strictObject({ path });
const textArgs = z.strictObject({ path, text: z.string().max(fileBytesMax) });
/** Base64 is checked while it is decoded (in pieces, see `fromBase64Yielding`), not by a regex over megabytes. */
const bytesArgs = z.strictObject({ path, data: z.string().max(Math.ceil(fileBytesMax / 3) * 4) });
const treeArgs = z.strictObject({ path, recursive: z.boolean().optional() });
const renameArgs = z.strictObject({ from: path, to: path });

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** File kinds as agents see them. */
export type FileKind = "file" | "dir" | "symlink";

/**
 * Build the `fs.*` rows: the read rows run in parallel; the mutating rows
 * of one account (an agent's workspace, or a volume shared by agents and
 * the files API) run one at a time (`workspaces.locks`, keyed by the checked
 * path's root), so the quota is checked and charged with nothing in between.
 * A path in a mounted volume is charged to the volume, not to the agent.
 *
 * @param workspaces the workspaces (their locks and volumes)
 * @returns the rows, for a `SyscallTable`
 * @example
 * ```ts
 * const table = new SyscallTable(fsSyscalls(new Workspaces("./data")));
 * ```
 */
export function fsSyscalls(workspaces: Workspaces): SyscallDef[] {
  const mutate: Mutate = (proc, checked, fn) =>
    workspaces.locks.run(checked.root, () => fn(workspaces.volumes.byRoot(checked.root) ?? procAccount(proc)));
  return [...readRows(), ...writeRows(mutate)];
}

/** Run a mutation of `checked` under its account's lock, with that account. */
type Mutate = <T>(proc: Process, checked: CheckedPath, fn: (account: DiskAccount) => Promise<T>) => Promise<T>;

const read = (args: { path: string }) => [{ path: args.path, access: "read" as const }];
const write = (args: { path: string }) => [{ path: args.path, access: "write" as const }];

/** Read a whole checked file, its result reserved against the agent's budget before the buffer exists. */
export async function readFile(checked: CheckedPath, reserve: (n: number) => void): Promise<Uint8Array> {
  using file = await open(checked, { read: true });
  const info = await verifyOpened(file, checked);
  if (info.isDirectory) throw new KernelError("EISDIR", "is a directory");
  if (info.size > fileBytesMax) throw new KernelError("E2BIG", `file larger than ${fileBytesMax} bytes`);
  reserve(resultHoldBytes(info.size));
  const bytes = new Uint8Array(info.size);
  let offset = 0;
  while (offset < bytes.length) {
    const n = await file.read(bytes.subarray(offset));
    if (n === null) break;
    offset += n;
  }
  return bytes.subarray(0, offset);
}

/** `fs.readText`, `fs.readBytes`, `fs.stat`, `fs.readDir`. */
function readRows(): SyscallDef[] {
  return [
    defineSyscall({
      name: "fs.readText",
      args: pathArgs,
      capability: "fs.read",
      ioBound: true,
      paths: read,
      handler: async ({ paths, addBytes, reserve }) => {
        const bytes = await readFile(paths[0], reserve);
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
      ioBound: true,
      paths: read,
      handler: async ({ paths, addBytes, reserve }) => {
        const bytes = await readFile(paths[0], reserve);
        addBytes(bytes.length);
        return new Base64Value(bytes);
      },
    }),
    defineSyscall({
      name: "fs.stat",
      args: pathArgs,
      capability: "fs.read",
      ioBound: true,
      paths: read,
      // What the check saw at the target (it stat-ed it a moment ago); nothing there is ENOENT.
      handler: ({ paths }) => {
        const seen = paths[0].seen;
        if (seen === null) throw new KernelError("ENOENT", "no such file or directory");
        const kind: FileKind = seen.kind === "dir" ? "dir" : "file";
        return { kind, size: seen.size, mtimeMs: seen.mtimeMs };
      },
    }),
    defineSyscall({
      name: "fs.readDir",
      args: pathArgs,
      capability: "fs.read",
      ioBound: true,
      paths: read,
      handler: async ({ paths }) => {
        const entries: { name: string; kind: FileKind }[] = [];
        try {
          for await (const entry of Deno.readDir(paths[0].real)) {
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
  ];
}

/** `fs.writeText`, `fs.writeBytes`, `fs.append` and the tree rows, one at a time per account. */
function writeRows(mutate: Mutate): SyscallDef[] {
  const writeFile = (proc: Process, checked: CheckedPath, data: Uint8Array, append: boolean) =>
    mutate(proc, checked, (account) => writeChecked(account, checked, data, append));
  return [
    defineSyscall({
      name: "fs.writeText",
      args: textArgs,
      capability: "fs.write",
      ioBound: true,
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
      ioBound: true,
      paths: write,
      handler: async ({ proc, args, paths, addBytes }) => {
        let data: Uint8Array;
        try {
          data = await fromBase64Yielding(args.data);
        } catch {
          throw new KernelError("EINVAL", "data is not base64");
        }
        addBytes(data.length);
        return await writeFile(proc, paths[0], data, false);
      },
    }),
    defineSyscall({
      name: "fs.append",
      args: textArgs,
      capability: "fs.write",
      ioBound: true,
      paths: write,
      handler: ({ proc, args, paths, addBytes }) => {
        const data = encoder.encode(args.text);
        addBytes(data.length);
        return writeFile(proc, paths[0], data, true);
      },
    }),
    ...treeRows(mutate),
  ];
}

/** `fs.mkdir`, `fs.remove`, `fs.rename` (under the account's mutation lock). */
function treeRows(mutate: Mutate): SyscallDef[] {
  return [
    defineSyscall({
      name: "fs.mkdir",
      args: treeArgs,
      capability: "fs.write",
      ioBound: true,
      paths: write,
      handler: ({ proc, paths, args }) =>
        mutate(proc, paths[0], (account) => makeDir(account, paths[0], args.recursive ?? false)),
    }),
    defineSyscall({
      name: "fs.remove",
      args: treeArgs,
      capability: "fs.write",
      ioBound: true,
      paths: write,
      handler: ({ proc, paths, args }) =>
        mutate(proc, paths[0], (account) => removeChecked(account, paths[0], args.recursive ?? false)),
    }),
    defineSyscall({
      name: "fs.rename",
      args: renameArgs,
      capability: "fs.write",
      ioBound: true,
      paths: (args) => [{ path: args.from, access: "write" }, { path: args.to, access: "write" }],
      // Across a mount boundary renameChecked refuses with EXDEV (before any lock matters).
      handler: ({ proc, paths }) => mutate(proc, paths[0], (account) => renameChecked(account, paths[0], paths[1])),
    }),
  ];
}

async function open(path: CheckedPath, options: Deno.OpenOptions): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path.real, options);
  } catch (err) {
    throw fsError(err);
  }
}
