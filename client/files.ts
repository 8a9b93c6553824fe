/**
 * {@linkcode Files}: the files of one scope — a session's or a running
 * agent's workspace, or a volume — uploaded, downloaded, listed, deleted.
 * Paths are relative to the scope's root; `..` is refused by the server.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const session = await os.sessions.create();
 * await session.files.upload("data/in.csv", "a,b\n1,2\n");
 * console.log(await session.files.list("data"));
 * ```
 *
 * @module
 */

import { filePath, type Http } from "./http.ts";
import type { FileEntry } from "./types.ts";

/** What an upload takes: text (as UTF-8), bytes, a Blob or a stream of bytes. */
export type FileData = string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

/**
 * The files of one scope.
 *
 * @example
 * ```ts
 * const bytes = await session.files.download("out.bin");
 * const text = await session.files.text("notes.txt");
 * ```
 */
export class Files {
  readonly #http: Http;
  readonly #prefix: string;

  /** @param http the transport @param prefix the scope's route, `/v1/sessions/ss_...` */
  constructor(http: Http, prefix: string) {
    this.#http = http;
    this.#prefix = prefix;
  }

  /**
   * Write a file (atomically: readers see the old or the new one); parent directories are made.
   *
   * @param path relative to the scope's root
   * @param data the content
   * @returns the path and the size written
   * @throws {AgentOSError} 413 `file_too_large`, 507 over the disk quota, 400 `invalid_path`
   */
  upload(path: string, data: FileData, signal?: AbortSignal): Promise<{ path: string; size: number }> {
    const body = data instanceof Uint8Array ? new Blob([data as Uint8Array<ArrayBuffer>]) : data;
    const init = { body, signal, headers: { "content-type": "application/octet-stream" } };
    // Node's fetch sends a stream only as a half-duplex body.
    if (body instanceof ReadableStream) Object.assign(init, { duplex: "half" });
    return this.#http.json("PUT", this.#route(path), init);
  }

  /**
   * A file's bytes.
   *
   * @throws {NotFound} when there is no such file
   */
  async download(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const res = await this.#http.request("GET", this.#route(path), { signal });
    return new Uint8Array(await res.arrayBuffer());
  }

  /** A file's text (UTF-8). */
  async text(path: string, signal?: AbortSignal): Promise<string> {
    return new TextDecoder().decode(await this.download(path, signal));
  }

  /**
   * A directory's entries (default: the root).
   *
   * @returns name, size, isDirectory, mtime of each
   */
  async list(dir = ".", signal?: AbortSignal): Promise<FileEntry[]> {
    const answer = await this.#http.json<{ entries: FileEntry[] }>("GET", `${this.#prefix}/files`, {
      query: { dir },
      signal,
    });
    return answer.entries;
  }

  /** Delete a file, or a directory with `recursive`. */
  delete(path: string, options: { recursive?: boolean } = {}): Promise<{ path: string; deleted: boolean }> {
    return this.#http.json("DELETE", this.#route(path), {
      query: { recursive: options.recursive ? "true" : undefined },
    });
  }

  #route(path: string): string {
    if (filePath(path) === "") throw new TypeError("a file path is required (relative to the scope's root)");
    return `${this.#prefix}/files/${filePath(path)}`;
  }
}
