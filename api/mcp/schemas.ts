/**
 * The MCP tools' inputs and outputs (zod 4, strict: an unknown argument is
 * an MCP error naming it). Inputs reuse the fields of the HTTP bodies
 * (`spawnSchema`, `sessionCreateSchema`, `sessionExecSchema`), so a tool
 * accepts exactly what its route accepts and refuses it with the same
 * message.
 *
 * @module
 */

import { z } from "zod";
import { spawnSchema } from "../schemas.ts";
import { sessionCreateSchema, sessionExecSchema } from "../session_schemas.ts";
import { fileUploadBytesMax } from "../limits.ts";

const sessionId = z.string().min(1).max(64).describe("the session's id (from create_session)");
const filePath = z.string().min(1).max(4096).describe("a path in the session's workspace, relative to it");

/** `run_code`: one agent, run to its end (contract: `{code, lang?}`). */
export const runCodeInput = z.strictObject({
  code: spawnSchema.shape.code.describe(
    "the agent's ES module; what its default export (a function, maybe async) returns is the result",
  ),
  lang: spawnSchema.shape.lang.describe("js (default) or ts"),
  capabilities: spawnSchema.shape.capabilities.describe("what the agent may do (fs.read, fs.write, net.fetch, ...)"),
  limits: spawnSchema.shape.limits,
});

/** `create_session`: the body of `POST /v1/sessions`. */
export const createSessionInput = sessionCreateSchema;

/** `exec`: one cell in a session (contract: `{sessionId, code}`). */
export const execInput = z.strictObject({
  sessionId,
  code: sessionExecSchema.shape.code.describe("the cell; it sees the variables of the session's earlier cells"),
  lang: sessionExecSchema.shape.lang,
  timeoutMs: sessionExecSchema.shape.timeoutMs,
});

/** `write_file`: UTF-8 text, or bytes as base64 with `encoding: "base64"`. */
export const writeFileInput = z.strictObject({
  sessionId,
  path: filePath,
  content: z.string().max(fileUploadBytesMax).describe("the file's contents"),
  encoding: z.enum(["utf8", "base64"]).optional().describe("how `content` is written (default utf8)"),
});

/** `read_file`. */
export const readFileInput = z.strictObject({ sessionId, path: filePath });

/** `list_files`. */
export const listFilesInput = z.strictObject({
  sessionId,
  path: filePath.optional().describe("a directory of the workspace (default: its root)"),
});

/** `close_session`. */
export const closeSessionInput = z.strictObject({ sessionId });

/** What `run_code` answers (also its text content). */
export const runCodeOutput = z.object({
  agentId: z.string(),
  state: z.string(),
  reason: z.string().nullable(),
  exitCode: z.number().nullable(),
  message: z.string().nullable(),
  result: z.unknown(),
  stdout: z.string(),
  stderr: z.string(),
});

/** What `create_session` answers. */
export const sessionOutput = z.object({
  sessionId: z.string(),
  state: z.string(),
  agentId: z.string(),
  expiresAt: z.string().nullable(),
});

/** What `exec` answers. */
export const execOutput = z.object({
  executionCount: z.number(),
  result: z.unknown(),
  resultText: z.string(),
  stdout: z.string(),
  stderr: z.string(),
  error: z.object({ name: z.string(), message: z.string(), stack: z.string() }).nullable(),
  interrupted: z.enum(["timeout", "interrupt"]).nullable(),
  stateLost: z.boolean(),
  outputTruncated: z.boolean(),
  durationMs: z.number(),
});

/** What `write_file` answers. */
export const writeFileOutput = z.object({ path: z.string(), size: z.number() });

/** What `read_file` answers. */
export const readFileOutput = z.object({
  path: z.string(),
  size: z.number(),
  encoding: z.enum(["utf8", "base64"]),
  content: z.string(),
});

/** What `list_files` answers. */
export const listFilesOutput = z.object({
  path: z.string(),
  entries: z.array(z.object({
    name: z.string(),
    size: z.number(),
    isDirectory: z.boolean(),
    mtime: z.string().nullable(),
  })),
});

/** What `close_session` answers. */
export const closeSessionOutput = z.object({ sessionId: z.string(), state: z.string(), reason: z.string().nullable() });
