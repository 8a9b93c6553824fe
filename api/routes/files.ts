/**
 * Files routes, one set per scope: `PUT`/`GET`/`DELETE <prefix>/files/<path>`
 * and `GET <prefix>/files?dir=<path>`. {@linkcode fileRoutes} is a factory
 * over "how to find the scope of this request" (a volume, an agent's
 * workspace, a session's), so every resource that has files mounts the same
 * handlers.
 *
 * The path is taken from the raw URL and percent-decoded once (so
 * `%2e%2e%2f` is `../` and refused by the confinement, never decoded twice).
 * Uploads are exempt from the JSON body cap (`bodyBytesMax`, see
 * `api/app.ts`) and capped by `fileUploadBytesMax` instead, streamed.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { FileScope } from "../files.ts";
import { ApiError } from "../service.ts";
import { type Env, parseQuery } from "../http.ts";
import { filesDeleteQuery, filesListQuery } from "../queries.ts";
import { bodyTokenBytes, fileUploadBytesMax } from "../limits.ts";

/** Finds the scope of a request (throws an `ApiError` 404/409 when there is none for the caller). */
export type FileScopeOf = (c: Context<Env>) => FileScope | Promise<FileScope>;

/** Paths the JSON body cap does not apply to (file uploads): `PUT /v1/<kind>/<id>/files/<path>`. */
export const uploadPathPattern = /^\/v1\/(volumes|agents|sessions)\/[^/]+\/files\/./;

/**
 * Register the files routes of one scope.
 *
 * @param app the app
 * @param prefix the resource's route (`/v1/volumes/:name`); its segments are counted to find the file path
 * @param scopeOf how to find the scope of a request
 * @example
 * ```ts
 * fileRoutes(app, "/v1/volumes/:name", (c) => service.volumes.scope(c.get("principal"), c.req.param("name")));
 * ```
 */
export function fileRoutes(app: Hono<Env>, prefix: string, scopeOf: FileScopeOf): void {
  const depth = prefix.split("/").length + 1;
  const pathOf = (c: Context<Env>) => filePath(c, depth);
  app.put(`${prefix}/files/*`, async (c) => {
    const declared = Number(c.req.header("content-length") ?? 0);
    if (Number.isFinite(declared) && declared > fileUploadBytesMax) {
      throw new ApiError(413, "file_too_large", `upload over fileUploadBytesMax (${fileUploadBytesMax} bytes)`);
    }
    const scope = await scopeOf(c);
    const path = pathOf(c);
    const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
    const size = await scope.put(path, body, fileUploadBytesMax);
    // The rate bucket took tokens for at most `bodyBytesMax` of declared body; the rest is paid now.
    const rate = c.get("rate");
    const unpaid = Math.floor(size / bodyTokenBytes) - rate.bodyTokens;
    if (unpaid > 0) rate.charge(unpaid);
    return c.json({ path, size }, 201);
  });
  app.get(`${prefix}/files`, async (c) => {
    const dir = parseQuery(c, filesListQuery).dir ?? ".";
    const scope = await scopeOf(c);
    return c.json({ entries: await scope.list(dir) });
  });
  app.get(`${prefix}/files/*`, async (c) => {
    const scope = await scopeOf(c);
    const got = await scope.get(pathOf(c), c.req.header("range"));
    if ("entries" in got) return c.json({ entries: got.entries });
    return new Response(got.body, { status: got.status, headers: got.headers });
  });
  app.delete(`${prefix}/files/*`, async (c) => {
    const recursive = parseQuery(c, filesDeleteQuery).recursive;
    const scope = await scopeOf(c);
    const path = pathOf(c);
    await scope.remove(path, recursive === "true");
    return c.json({ path, deleted: true });
  });
}

/** The file path of a request: the raw URL's segments after `files`, percent-decoded once. */
function filePath(c: Context<Env>, depth: number): string {
  const raw = new URL(c.req.url).pathname.split("/").slice(depth).join("/");
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, "invalid_path", "the file path is not valid percent-encoding");
  }
}
