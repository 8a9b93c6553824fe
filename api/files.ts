/**
 * The files API's service: upload, download (with `Range`), list, delete
 * in one *scope* — an agent's workspace with its mounts, a volume, or (built
 * elsewhere) a session's workspace. A scope says how to confine a raw path
 * for the request (the same `CheckedPath` rules as an agent's syscalls) and
 * which account (quota) a write is charged to; every operation is recorded
 * as an event like a syscall (`files.put`, `files.get`, `files.list`,
 * `files.delete`): attributed to the agent for its workspace, to the tenant
 * for a volume.
 *
 * @module
 */

import { type Errno, KernelError } from "../kernel/mod.ts";
import type { CheckedPath, PathAccess } from "../kernel/syscall/mod.ts";
import type { Subject } from "../observability/mod.ts";
import type { Runtime } from "../sandbox/mod.ts";
import {
  type DiskAccount,
  type FileEntry,
  fsError,
  listChecked,
  openChecked,
  procAccount,
  removeChecked,
  uploadStreamed,
} from "../sandbox/fs/mod.ts";
import { ApiError } from "./api_error.ts";
import { fileDownloadChunkBytes } from "./limits.ts";

/** The call names files events are recorded under (registered with the hub as known calls). */
export const filesCalls = ["files.put", "files.get", "files.list", "files.delete"] as const;
type FilesCall = typeof filesCalls[number];

/** A confined path and the account its writes are charged to. */
export interface ScopedPath {
  checked: CheckedPath;
  account: DiskAccount;
}

/** What {@linkcode fileScope} builds a scope from. */
export interface FileScopeSpec {
  runtime: Runtime;
  /** Who the events are attributed to (an agent's subject; `pid: 0` for the tenant). */
  subject: Subject;
  /** What the scope is, for messages ("agent ag_…", "volume data"). */
  what: string;
  /** Confine `raw` for this scope. @throws {KernelError} as the confinement does */
  resolve(raw: string, access: PathAccess): Promise<ScopedPath>;
}

/** A download: the open file's stream and what the headers say. */
export interface Download {
  status: 200 | 206;
  body: ReadableStream<Uint8Array>;
  headers: Record<string, string>;
}

/** The operations of one scope. */
export interface FileScope {
  /** Stream `body` to `path` atomically; returns the bytes written. */
  put(path: string, body: ReadableStream<Uint8Array>, bytesMax: number): Promise<number>;
  /** A file's contents (whole or a `Range`); a directory is listed instead. */
  get(path: string, range: string | undefined): Promise<Download | { entries: FileEntry[] }>;
  /** A directory's entries. */
  list(dir: string): Promise<FileEntry[]>;
  /** Remove a file, an empty directory or (with `recursive`) a tree. */
  remove(path: string, recursive: boolean): Promise<void>;
}

/**
 * Build a scope: every operation confines its path with `spec.resolve`,
 * runs under the account's lock where it mutates, and records its event.
 *
 * @example
 * ```ts
 * const scope = fileScope({ runtime, subject, what: "volume data", resolve });
 * await scope.put("a.txt", request.body!, fileUploadBytesMax);
 * ```
 */
export function fileScope(spec: FileScopeSpec): FileScope {
  const locks = spec.runtime.workspaces.locks;
  const timed = <T>(call: FilesCall, path: string, fn: () => Promise<[T, number]>) => record(spec, call, path, fn);
  return {
    put: (path, body, bytesMax) =>
      timed("files.put", path, async () => {
        const { checked, account } = await spec.resolve(path, "write");
        const n = await uploadStreamed({ account, locks, checked }, body, bytesMax);
        return [n, n];
      }),
    get: (path, range) =>
      timed("files.get", path, async (): Promise<[Download | { entries: FileEntry[] }, number]> => {
        const { checked } = await spec.resolve(path, "read");
        if (checked.seen?.kind === "dir") return [{ entries: await listChecked(checked) }, 0];
        const answer = await download(checked, range);
        return [answer, Number(answer.headers["content-length"])];
      }),
    list: (dir) =>
      timed("files.list", dir, async () => [await listChecked((await spec.resolve(dir, "read")).checked), 0]),
    remove: (path, recursive) =>
      timed("files.delete", path, async () => {
        const { checked, account } = await spec.resolve(path, "write");
        if (checked.seen === null) throw new KernelError("ENOENT", "no such file or directory");
        await locks.run(checked.root, () => removeChecked(account, checked, recursive));
        return [undefined, 0];
      }),
  };
}

/**
 * The scope of a live agent's workspace (with its mounts): paths resolve as
 * the agent's own syscalls do; writes are charged to the agent's quota, or
 * to a mounted volume's.
 */
export function agentFileScope(runtime: Runtime, pid: number, subject: Subject, what: string): FileScope {
  return fileScope({
    runtime,
    subject,
    what,
    resolve: async (raw, access) => {
      const proc = runtime.table.get(pid);
      if (proc === undefined) throw new KernelError("ESRCH", "agent has no workspace");
      const resolved = await runtime.workspaces.resolve(pid, raw, access);
      return { checked: resolved.checked, account: resolved.mount?.volume ?? procAccount(proc) };
    },
  });
}

/** Run `fn`, record its event (errno on failure), and turn a kernel error into the API's answer. */
async function record<T>(spec: FileScopeSpec, call: FilesCall, path: string, fn: () => Promise<[T, number]>) {
  const started = performance.now();
  let errno: Errno | null = null;
  let bytes = 0;
  try {
    const [value, n] = await fn();
    bytes = n;
    return value;
  } catch (err) {
    const kernel = err instanceof ApiError ? undefined : fsError(err);
    errno = kernel?.code ?? "EINVAL";
    throw kernel === undefined ? err : apiErrorOf(kernel, spec.what);
  } finally {
    const latencyUs = (performance.now() - started) * 1000;
    spec.runtime.obs.syscall(spec.subject, call, errno, latencyUs, bytes, { path: path.slice(0, 256) });
  }
}

/** How each errno is answered over HTTP. */
const httpOf: Partial<Record<Errno, [ApiError["status"], string]>> = {
  EACCES: [403, "path_forbidden"],
  EPERM: [403, "path_forbidden"],
  EROFS: [403, "read_only"],
  EINVAL: [400, "invalid_path"],
  ENOENT: [404, "not_found"],
  EISDIR: [400, "is_a_directory"],
  ENOTDIR: [400, "not_a_directory"],
  EEXIST: [409, "exists"],
  ENOTEMPTY: [409, "directory_not_empty"],
  E2BIG: [413, "file_too_large"],
  ENOSPC: [413, "quota_exceeded"],
  ESRCH: [409, "agent_ended"],
  EAGAIN: [429, "busy"],
};

/** A kernel error as the API's answer, its message naming the scope. */
export function apiErrorOf(err: KernelError, what: string): ApiError {
  if (err.code === "ENOSPC" && err.message.startsWith("the server's disk")) {
    return new ApiError(507, "storage_full", `${what}: ${err.message}`, { retryAfterSec: 30 });
  }
  if (err.code === "ESRCH") {
    return new ApiError(409, "agent_ended", `${what} has ended: its workspace is removed at exit (use a volume)`);
  }
  const [status, code] = httpOf[err.code] ?? [503, "file_io"];
  return new ApiError(status, code, `${what}: ${err.message} (${err.code})`);
}

/** Open a checked file and answer it whole or the one `Range` asked for. */
async function download(checked: CheckedPath, range: string | undefined): Promise<Download> {
  const { file, info } = await openChecked(checked);
  const size = info.size;
  const headers: Record<string, string> = {
    "content-type": contentTypeOf(checked.relative),
    "accept-ranges": "bytes",
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
    etag: `"${size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}-${(info.ino ?? 0).toString(16)}"`,
  };
  if (info.mtime) headers["last-modified"] = info.mtime.toUTCString();
  let start = 0, end = size - 1, status: 200 | 206 = 200;
  if (range !== undefined) {
    const parsed = parseRange(range, size);
    if (parsed === null) {
      file.close();
      throw new ApiError(416, "range_not_satisfiable", `range ${range.slice(0, 64)} outside a file of ${size} bytes`, {
        headers: { "content-range": `bytes */${size}` },
      });
    }
    [start, end] = parsed;
    status = 206;
    headers["content-range"] = `bytes ${start}-${end}/${size}`;
  }
  headers["content-length"] = String(Math.max(0, end - start + 1));
  return { status, headers, body: fileStream(file, start, end - start + 1) };
}

/**
 * One `bytes=a-b`, `bytes=a-` or `bytes=-n` range → [first, last]; null if
 * it cannot be satisfied (or is several ranges, or malformed: answered 416 too).
 */
export function parseRange(header: string, size: number): [number, number] | null {
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (m === null || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return null;
    return [Math.max(0, size - n), size - 1];
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (first >= size || last < first) return null;
  return [first, last];
}

/** `length` bytes of `file` from `start`, read `fileDownloadChunkBytes` at a time as the client takes them. */
function fileStream(file: Deno.FsFile, start: number, length: number): ReadableStream<Uint8Array> {
  let left = length;
  let positioned = false;
  const close = () => {
    try {
      file.close();
    } catch { /* closed already */ }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!positioned) {
          await file.seek(start, Deno.SeekMode.Start);
          positioned = true;
        }
        if (left <= 0) {
          close();
          return controller.close();
        }
        const buf = new Uint8Array(Math.min(fileDownloadChunkBytes, left));
        const n = await file.read(buf);
        if (n === null) {
          close();
          return controller.close();
        }
        left -= n;
        controller.enqueue(buf.subarray(0, n));
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel: close,
  });
}

const contentTypes: Record<string, string> = {
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  tsv: "text/tab-separated-values; charset=utf-8",
  json: "application/json",
  jsonl: "application/x-ndjson",
  ndjson: "application/x-ndjson",
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  ts: "text/typescript; charset=utf-8",
  xml: "application/xml",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  wasm: "application/wasm",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
  parquet: "application/vnd.apache.parquet",
};

/** The `Content-Type` of a file from its extension; `application/octet-stream` when unknown. */
export function contentTypeOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? contentTypes[name.slice(dot + 1).toLowerCase()] : undefined) ?? "application/octet-stream";
}
