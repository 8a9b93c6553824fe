/**
 * Prelude part: Deno's file APIs over the `fs.*` syscalls, so agent code
 * written for Deno works unchanged inside the workspace, with every check
 * of the kernel (capability, path confinement, policy, quota, events).
 *
 * - `readTextFile`, `readFile`, `writeTextFile`/`writeFile` (`append`,
 *   `create`, `createNew`; data may be a `ReadableStream`), `readDir`
 *   (async iterable of `{name, isFile, isDirectory, isSymlink}`),
 *   `stat`/`lstat` (a `Deno.FileInfo`), `mkdir`, `remove` (`recursive`),
 *   `rename`, `copyFile`.
 * - Paths: `Deno.cwd()` is `/workspace` (set in `lockdown.ts`), the root of
 *   the agent's workspace. A relative path, `/workspace/<p>` and
 *   `file:///workspace/<p>` all name `<p>` in the workspace; any other
 *   absolute path is refused by the kernel like `sys.fs` refuses it
 *   (`EACCES`), and so is `..` above the root.
 * - Errors are `Deno.errors.*` by errno (`ENOENT` → `NotFound`, `EEXIST` →
 *   `AlreadyExists`, `EACCES`/`EPERM` → `PermissionDenied`, `EISDIR` →
 *   `IsADirectory`, `ENOTDIR` → `NotADirectory`, anything else the
 *   `SysError` itself), each with `.code` = the errno, the kernel's message
 *   followed by the API and the path as given, and `cause` = the `SysError`.
 * - `lstat` answers as `stat`: the kernel resolves symlinks inside the
 *   workspace before it looks, so `isSymlink` is false there (`readDir`
 *   still reports symlink entries).
 * - The synchronous APIs and those with no syscall behind them (`open`,
 *   `create`, `makeTempFile`, `symlink`, …) throw `Deno.errors.NotSupported`
 *   saying what to use instead.
 *
 * Shipped as source: these functions must not close over anything in this
 * module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

type Call = PreludeChannel["call"];
type ErrorClass = new (message: string, options?: ErrorOptions) => Error;

/** Rebuild a failed call as the `Deno.errors` class of its errno (the `SysError` itself when none fits). */
export function preludeDenoError(
  SysError: PreludeChannel["SysError"],
): (e: unknown, api: string, path: string) => unknown {
  const errors = (globalThis as unknown as { Deno: { errors: Record<string, ErrorClass | undefined> } }).Deno.errors;
  const classes: Record<string, ErrorClass | undefined> = {
    ENOENT: errors.NotFound,
    EEXIST: errors.AlreadyExists,
    EACCES: errors.PermissionDenied,
    EPERM: errors.PermissionDenied,
    EISDIR: errors.IsADirectory,
    ENOTDIR: errors.NotADirectory,
  };
  return (e, api, path) => {
    if (!(e instanceof SysError)) return e;
    const cls = Object.hasOwn(classes, e.code) ? classes[e.code] : undefined;
    const message = `${e.message} (${api} '${path}')`;
    if (cls === undefined) return Object.assign(new SysError(e.code, message), { cause: e });
    return Object.assign(new cls(message, { cause: e }), { code: e.code });
  };
}

/** Workspace path of a `string | URL` argument, as `Deno.cwd()` (`/workspace`) says. */
export function preludeWorkspacePath(): (path: string | URL) => string {
  const root = "/workspace";
  return (path) => {
    let text: string;
    if (path instanceof URL) {
      if (path.protocol !== "file:") throw new TypeError("Must be a file URL.");
      text = decodeURIComponent(path.pathname);
    } else text = String(path);
    if (text === root) return ".";
    return text.startsWith(root + "/") ? text.slice(root.length + 1) || "." : text;
  };
}

/** Read a stream of strings or bytes whole. */
export async function preludeReadAll(stream: ReadableStream<string | Uint8Array>): Promise<string | Uint8Array> {
  const parts: (string | Uint8Array)[] = [];
  for await (const part of stream) parts.push(part);
  if (parts.every((p) => typeof p === "string")) return parts.join("");
  const chunks = parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : p);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}

/** `Deno.FileInfo` from an `fs.stat` answer. */
export function preludeFileInfo(s: { kind: string; size: number; mtimeMs: number }): Deno.FileInfo {
  return {
    isFile: s.kind === "file",
    isDirectory: s.kind === "dir",
    isSymlink: s.kind === "symlink",
    size: s.size,
    mtime: new Date(s.mtimeMs),
    atime: null,
    birthtime: null,
    ctime: null,
    dev: 0,
    ino: null,
    mode: null,
    nlink: null,
    uid: null,
    gid: null,
    rdev: null,
    blksize: null,
    blocks: null,
    isBlockDevice: false,
    isCharDevice: false,
    isFifo: false,
    isSocket: false,
  };
}

/** Write text or bytes with Deno's `append` / `create` / `createNew` options over `fs.write*` and `fs.append`. */
export function preludeDenoWrite(
  call: Call,
  SysError: PreludeChannel["SysError"],
): (path: string, data: string | Uint8Array, options: Deno.WriteFileOptions) => Promise<void> {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const exists = (path: string) =>
    call("fs.stat", { path }).then(() => true, (e) => e?.code === "ENOENT" ? false : Promise.reject(e));
  const text = (data: Uint8Array) => {
    try {
      return fatal.decode(data);
    } catch {
      return null;
    }
  };
  return async (path, data, options) => {
    const name = typeof data === "string"
      ? (options.append ? "fs.append" : "fs.writeText")
      : (options.append ? "fs.append" : "fs.writeBytes");
    if (options.createNew || options.create === false) {
      const present = await exists(path);
      if (options.createNew && present) throw new SysError("EEXIST", `${name}: file exists`);
      if (options.create === false && !present) throw new SysError("ENOENT", `${name}: no such file or directory`);
    }
    if (typeof data === "string") return void await call(name, { path, text: data });
    if (!options.append) return void await call(name, { path, data: data.toBase64() });
    const asText = text(data);
    if (asText !== null) return void await call("fs.append", { path, text: asText });
    // Bytes that are not UTF-8 cannot go through fs.append: read, join, replace.
    const before = await exists(path) ? Uint8Array.fromBase64(await call("fs.readBytes", { path }) as string) : null;
    const whole = new Uint8Array((before?.length ?? 0) + data.length);
    if (before !== null) whole.set(before);
    whole.set(data, before?.length ?? 0);
    await call("fs.writeBytes", { path, data: whole.toBase64() });
  };
}

/** Names of `Deno` file APIs with no async syscall behind them, and what to use instead. */
export function preludeDenoFsUnsupported(): [string, string][] {
  const sync = ["readTextFile", "readFile", "writeTextFile", "writeFile", "readDir", "stat", "lstat", "mkdir"]
    .concat(["remove", "rename", "copyFile"]);
  const none = ["open", "create", "truncate", "makeTempDir", "makeTempFile", "symlink", "link", "chmod", "chown"]
    .concat(["utime", "readLink", "realPath", "watchFs"]);
  return [
    ...sync.map((n): [string, string] => [`${n}Sync`, `files are syscalls, which are async: use await Deno.${n}`]),
    ...none.map((n): [string, string] => [
      n,
      "no syscall serves it: use Deno.readFile/writeFile/readDir/stat/mkdir/remove/rename or sys.fs",
    ]),
    ...none.map((n): [string, string] => [`${n}Sync`, "no syscall serves it: use the async Deno file APIs or sys.fs"]),
  ];
}

/** Deno's file APIs over `fs.*`, by name. */
export function preludeDenoFsApis(ch: PreludeChannel): Record<string, (...args: never[]) => unknown> {
  const call = ch.call;
  const toPath = preludeWorkspacePath();
  const toError = preludeDenoError(ch.SysError);
  const write = preludeDenoWrite(call, ch.SysError);
  const lossy = new TextDecoder();
  /** Run one API: paths resolved, failures rebuilt as `Deno.errors` naming the API and the path as given. */
  const api = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async function (...args: A): Promise<R> {
      try {
        return await fn(...args);
      } catch (e) {
        throw toError(e, `Deno.${name}`, String(args[0] instanceof URL ? args[0].href : args[0]));
      }
    };
  const readBytes = async (path: string | URL) =>
    Uint8Array.fromBase64(await call("fs.readBytes", { path: toPath(path) }) as string);
  const stat = api(
    "stat",
    async (path: string | URL) =>
      preludeFileInfo(await call("fs.stat", { path: toPath(path) }) as { kind: string; size: number; mtimeMs: number }),
  );
  const data = async <T extends string | Uint8Array>(d: T | ReadableStream<T>) =>
    d instanceof ReadableStream ? await preludeReadAll(d) : d;
  const apis: Record<string, (...args: never[]) => unknown> = {
    readTextFile: api("readTextFile", async (path: string | URL) => {
      try {
        return await call("fs.readText", { path: toPath(path) }) as string;
      } catch (e) {
        // Not UTF-8: Deno decodes with replacement characters.
        if ((e as { code?: string }).code === "EINVAL") return lossy.decode(await readBytes(path));
        throw e;
      }
    }),
    readFile: api("readFile", readBytes),
    writeTextFile: api(
      "writeTextFile",
      async (path: string | URL, d: string | ReadableStream<string>, o = {}) => write(toPath(path), await data(d), o),
    ),
    writeFile: api(
      "writeFile",
      async (path: string | URL, d: Uint8Array | ReadableStream<Uint8Array>, o = {}) =>
        write(toPath(path), await data(d), o),
    ),
    readDir: (path: string | URL = ".") => preludeDenoReadDir(call, toPath(path), toError, String(path)),
    stat,
    lstat: stat,
    mkdir: api(
      "mkdir",
      async (path: string | URL, o: Deno.MkdirOptions = {}) =>
        void await call("fs.mkdir", { path: toPath(path), recursive: o.recursive ?? false }),
    ),
    remove: api(
      "remove",
      async (path: string | URL, o: Deno.RemoveOptions = {}) =>
        void await call("fs.remove", { path: toPath(path), recursive: o.recursive ?? false }),
    ),
    rename: api(
      "rename",
      async (from: string | URL, to: string | URL) =>
        void await call("fs.rename", { from: toPath(from), to: toPath(to) }),
    ),
    copyFile: api(
      "copyFile",
      async (from: string | URL, to: string | URL) => write(toPath(to), await readBytes(from), {}),
    ),
  };
  return apis;
}

/** Install Deno's file APIs over `fs.*` (and the refusals of those with no syscall) on the global `Deno`. */
export function preludeDenoFs(ch: PreludeChannel): void {
  const deno = (globalThis as unknown as { Deno: Record<string, unknown> & { errors: Record<string, ErrorClass> } })
    .Deno;
  const apis = preludeDenoFsApis(ch);
  for (const [name, why] of preludeDenoFsUnsupported()) {
    apis[name] = () => {
      throw new deno.errors.NotSupported(`Deno.${name} is not supported inside the sandbox: ${why}`);
    };
  }
  for (const [name, value] of Object.entries(apis)) {
    try {
      Object.defineProperty(deno, name, { value, writable: false, configurable: false, enumerable: true });
    } catch { /* not configurable: left as the runtime made it */ }
  }
}

/** `Deno.readDir`: an async iterable over one `fs.readDir` answer. */
export async function* preludeDenoReadDir(
  call: Call,
  path: string,
  toError: (e: unknown, api: string, path: string) => unknown,
  given: string,
): AsyncGenerator<Deno.DirEntry> {
  let entries: { name: string; kind: string }[];
  try {
    entries = await call("fs.readDir", { path }) as { name: string; kind: string }[];
  } catch (e) {
    throw toError(e, "Deno.readDir", given);
  }
  for (const e of entries) {
    yield { name: e.name, isFile: e.kind === "file", isDirectory: e.kind === "dir", isSymlink: e.kind === "symlink" };
  }
}
