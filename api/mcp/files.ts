/**
 * A session's files as MCP hands them over: whole files up to
 * `mcpFileBytesMax` (text when they are valid UTF-8, base64 otherwise), a
 * breadth-first walk of the tenant's open sessions for `resources/list`,
 * and the `agentos://sessions/{id}/files/{path}` URIs.
 *
 * @module
 */

import { ApiError } from "../api_error.ts";
import type { FileScope } from "../files.ts";
import { mcpFileBytesMax, mcpResourcesListMax } from "../limits.ts";
import type { Principal } from "../service.ts";
import type { Sessions } from "../sessions.ts";

/** The resource template of a session's files (`{+path}`: the path may hold `/`). */
export const fileUriTemplate = "agentos://sessions/{id}/files/{+path}";

/** A file read whole. */
export interface WholeFile {
  size: number;
  mimeType: string;
  /** The contents as UTF-8 text, or `undefined` when they are not valid UTF-8. */
  text: string | undefined;
  bytes: Uint8Array;
}

/**
 * Read a file of `scope` whole; a directory, or a file over
 * `mcpFileBytesMax`, is an `ApiError` saying what to do instead.
 *
 * @example
 * ```ts
 * const file = await readWhole(await sessions.files(p, id), "data.csv", `/v1/sessions/${id}`);
 * file.text ?? file.bytes.toBase64();
 * ```
 */
export async function readWhole(scope: FileScope, path: string, route: string): Promise<WholeFile> {
  const got = await scope.get(path, undefined);
  if ("entries" in got) {
    throw new ApiError(400, "is_a_directory", `${path} is a directory: list it with list_files`);
  }
  const size = Number(got.headers["content-length"]);
  if (size > mcpFileBytesMax) {
    await got.body.cancel();
    throw new ApiError(
      413,
      "file_too_large",
      `${path} is ${size} bytes, over mcpFileBytesMax (${mcpFileBytesMax}): download it with GET ${route}/files/${path} (Range)`,
    );
  }
  const bytes = new Uint8Array(await new Response(got.body).arrayBuffer());
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = undefined;
  }
  return { size: bytes.length, mimeType: got.headers["content-type"] ?? "application/octet-stream", text, bytes };
}

/** The contents of a file as a tool answers them. */
export function contentOf(file: WholeFile): { encoding: "utf8" | "base64"; content: string } {
  return file.text !== undefined
    ? { encoding: "utf8", content: file.text }
    : { encoding: "base64", content: file.bytes.toBase64() };
}

/**
 * The URI of a session's file (each segment percent-encoded).
 *
 * @example
 * ```ts
 * fileUri("ses_1", "out/a b.txt"); // "agentos://sessions/ses_1/files/out/a%20b.txt"
 * ```
 */
export function fileUri(sessionId: string, path: string): string {
  return `agentos://sessions/${encodeURIComponent(sessionId)}/files/${
    path.split("/").map(encodeURIComponent).join("/")
  }`;
}

/** A URI variable percent-decoded once (as the HTTP route's path is). */
export function uriVariable(value: string | string[] | undefined, name: string): string {
  const raw = Array.isArray(value) ? value.join(",") : value ?? "";
  try {
    const decoded = decodeURIComponent(raw);
    if (decoded !== "") return decoded;
  } catch {
    // answered below
  }
  throw new ApiError(400, "invalid_path", `the resource URI's ${name} is empty or not valid percent-encoding`);
}

/** A file `resources/list` names. */
export interface ListedFile {
  uri: string;
  name: string;
  size: number;
}

/**
 * The files of the caller's open sessions, breadth first, at most
 * `mcpResourcesListMax` of them (directories are walked, not named).
 *
 * @example
 * ```ts
 * const files = await listSessionFiles(sessions, principal);
 * ```
 */
export async function listSessionFiles(sessions: Sessions, p: Principal): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  for (const row of sessions.list(p, { label: [], state: "open", limit: 100 })) {
    if (out.length >= mcpResourcesListMax) break;
    let scope: FileScope;
    try {
      scope = await sessions.files(p, row.id);
    } catch {
      continue; // ended since it was listed
    }
    await walk(scope, row.id, out);
  }
  return out;
}

async function walk(scope: FileScope, sessionId: string, out: ListedFile[]): Promise<void> {
  const dirs = ["."];
  for (let i = 0; i < dirs.length && out.length < mcpResourcesListMax; i++) {
    const dir = dirs[i];
    let entries;
    try {
      entries = await scope.list(dir);
    } catch {
      continue; // removed meanwhile, or a mount the caller cannot read
    }
    for (const e of entries) {
      const path = dir === "." ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory) dirs.push(path);
      else if (out.length < mcpResourcesListMax) out.push({ uri: fileUri(sessionId, path), name: path, size: e.size });
    }
  }
}
