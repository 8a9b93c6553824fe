/**
 * The operations of sessions, volumes and the files routes of every scope
 * (volumes, agents' and sessions' workspaces: one factory, as the routes
 * are one factory, `api/routes/files.ts`): rows of the OpenAPI document
 * (`api/openapi.ts`).
 *
 * @module
 */

import { z } from "zod";
import { type Answer, json, type Operation, operationOf } from "./openapi_operation.ts";
import { volumeCreateSchema } from "./schemas.ts";
import { sessionCreateSchema, sessionExecSchema, sessionListQuery, sessionPatchSchema } from "./session_schemas.ts";
import { fileUploadBytesMax } from "./limits.ts";

const listQuery = z.strictObject({ dir: z.string().optional().describe("the directory (default `.`)") });
const deleteQuery = z.strictObject({
  recursive: z.enum(["true", "false"]).optional().describe("`true` removes a directory and everything in it"),
});
const execQuery = z.strictObject({
  stream: z.enum(["true", "false"]).optional()
    .describe("`true` (or `Accept: application/x-ndjson`): NDJSON lines as the cell writes, then its result"),
});

const header = (description: string) => ({ description, schema: { type: "string" } });

/** A file's download: its bytes (whole or a range) or, for a directory, its entries. */
function download(status: 200 | 206): Answer {
  const headers = {
    ETag: header("the file's version (size, mtime, inode)"),
    "Accept-Ranges": header("`bytes`"),
    "Last-Modified": header("the file's mtime"),
    ...(status === 206 ? { "Content-Range": header("`bytes start-end/size`") } : {}),
  };
  if (status === 206) {
    const content = { "application/octet-stream": { schema: { type: "string", contentEncoding: "binary" } } };
    return { description: "the requested range (`Range: bytes=start-end`)", headers, content };
  }
  return {
    description: "the file's bytes (its type from the extension, else octet-stream); a directory: its entries",
    headers,
    content: {
      "application/octet-stream": { schema: { type: "string", contentEncoding: "binary" } },
      "application/json": { schema: { $ref: "#/components/schemas/FileEntries" } },
    },
  };
}

/**
 * The four files routes of one scope.
 *
 * @param prefix the scope's path (`/v1/volumes/{name}`)
 * @param noun the scope in operation ids (`Volume` → `uploadVolumeFile`)
 * @param what the scope in summaries
 * @returns the operations
 * @example
 * ```ts
 * filesOf("/v1/volumes/{name}", "Volume", "a volume").map((op) => op.operationId)[0]; // "listVolumeFiles"
 * ```
 */
export function filesOf(prefix: string, noun: string, what: string): Operation[] {
  const file = `${prefix}/files/{path}`;
  return [
    {
      method: "get",
      path: `${prefix}/files`,
      operationId: `list${noun}Files`,
      tag: "files",
      summary: `list a directory of ${what} (\`?dir=\`)`,
      query: listQuery,
      responses: { 200: json("the directory's entries", "FileEntries") },
    },
    {
      method: "put",
      path: file,
      operationId: `upload${noun}File`,
      tag: "files",
      summary: `upload a file into ${what} (the body is the bytes, streamed, replaced atomically)`,
      body: { contentType: "application/octet-stream", description: `at most ${fileUploadBytesMax} bytes` },
      responses: { 201: json("written", "FileWritten") },
    },
    {
      method: "get",
      path: file,
      operationId: `download${noun}File`,
      tag: "files",
      summary: `download a file of ${what} (\`Range\` honoured)`,
      headers: [{ name: "Range", description: "`bytes=start-end`, one range" }],
      responses: { 200: download(200), 206: download(206) },
    },
    {
      method: "delete",
      path: file,
      operationId: `delete${noun}File`,
      tag: "files",
      summary: `delete a file or an empty directory of ${what} (\`?recursive=true\`: a tree)`,
      query: deleteQuery,
      responses: { 200: json("deleted", "Deleted") },
    },
  ];
}

/**
 * The rows of volumes and of every scope's files.
 *
 * @returns the operations
 * @example
 * ```ts
 * fileOperations().some((op) => op.operationId === "downloadAgentFile"); // true
 * ```
 */
export function fileOperations(): Operation[] {
  const volume = operationOf("volumes");
  return [
    {
      ...volume("post", "/v1/volumes", "createVolume", "create a volume"),
      body: volumeCreateSchema,
      responses: { 201: json("the volume", "Volume") },
    },
    {
      ...volume("get", "/v1/volumes", "listVolumes", "the tenant's volumes"),
      responses: { 200: json("", "VolumeList") },
    },
    { ...volume("get", "/v1/volumes/{name}", "getVolume", "a volume"), responses: { 200: json("", "Volume") } },
    {
      ...volume("delete", "/v1/volumes/{name}", "deleteVolume", "delete a volume (none may mount it)"),
      responses: { 200: json("deleted", "Deleted") },
    },
    ...filesOf("/v1/volumes/{name}", "Volume", "a volume"),
    ...filesOf("/v1/agents/{id}", "Agent", "a running agent's workspace"),
    ...filesOf("/v1/sessions/{id}", "Session", "a session's workspace"),
  ];
}

/**
 * The rows of sessions.
 *
 * @returns the operations
 * @example
 * ```ts
 * sessionOperations().find((op) => op.operationId === "execSession")?.method; // "post"
 * ```
 */
export function sessionOperations(): Operation[] {
  const session = json("the session", "Session");
  const s = operationOf("sessions");
  return [
    {
      ...s("post", "/v1/sessions", "createSession", "open a session (a stateful code context)"),
      body: sessionCreateSchema,
      responses: { 201: session },
    },
    {
      ...s("get", "/v1/sessions", "listSessions", "the tenant's sessions (`?label=k=v` repeatable: all must match)"),
      query: sessionListQuery,
      responses: { 200: json("the sessions", "SessionList") },
    },
    { ...s("get", "/v1/sessions/{id}", "getSession", "a session"), responses: { 200: session } },
    {
      ...s("patch", "/v1/sessions/{id}", "updateSession", "extend the TTL, change the idle timeout or labels"),
      body: sessionPatchSchema,
      responses: { 200: session },
    },
    { ...s("delete", "/v1/sessions/{id}", "closeSession", "close a session"), responses: { 200: session } },
    {
      ...s("post", "/v1/sessions/{id}/exec", "execSession", "run one cell in the session's context"),
      body: sessionExecSchema,
      query: execQuery,
      responses: {
        200: {
          description: "the cell's answer; streamed: `{type: stdout|stderr, data}` lines, then `{type: result, ...}`",
          content: {
            "application/json": { schema: { $ref: "#/components/schemas/ExecResult" } },
            "application/x-ndjson": { schema: { type: "string" } },
          },
        },
      },
    },
    {
      ...s("post", "/v1/sessions/{id}/interrupt", "interruptSession", "interrupt the running cell"),
      responses: {
        200: json("whether a cell was interrupted", {
          type: "object",
          properties: { interrupted: { type: "boolean" }, stateLost: { type: "boolean" } },
          required: ["interrupted", "stateLost"],
        }),
      },
    },
    {
      ...s("post", "/v1/sessions/{id}/restart", "restartSession", "a fresh context (the files are kept)"),
      responses: { 200: session },
    },
  ];
}
