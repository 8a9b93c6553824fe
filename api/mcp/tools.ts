/**
 * The MCP tools of one caller: `run_code`, `create_session`, `exec`,
 * `write_file`, `read_file`, `list_files`, `close_session`. Each calls the
 * `Service` method its HTTP route calls, as the request's principal (so
 * quotas, policies, audit and another tenant's ids behave as over HTTP).
 *
 * @module
 */

import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp";
import { ApiError } from "../api_error.ts";
import { fileUploadBytesMax } from "../limits.ts";
import type { Principal, Service } from "../service.ts";
import { answer, execAnswer, guarded, runCodeAnswer } from "./answers.ts";
import { contentOf, readWhole } from "./files.ts";
import * as s from "./schemas.ts";

/** The names of the tools, in the order they are listed. */
export const mcpToolNames = [
  "run_code",
  "create_session",
  "exec",
  "write_file",
  "read_file",
  "list_files",
  "close_session",
] as const;

/**
 * Register every tool on `server`, acting as `p`.
 *
 * @example
 * ```ts
 * const server = new McpServer({ name: "agentos", version: "1" });
 * registerTools(server, service, principal);
 * ```
 */
export function registerTools(server: McpServer, service: Service, p: Principal): void {
  registerRun(server, service, p);
  registerSessions(server, service, p);
  registerFiles(server, service, p);
}

function registerRun(server: McpServer, service: Service, p: Principal): void {
  server.registerTool("run_code", {
    title: "Run code",
    description: "Run JavaScript or TypeScript as a sandboxed agent and wait for it to end. " +
      "Answers the agent's result (what its default export function returns, as JSON), stdout and stderr.",
    inputSchema: s.runCodeInput,
    outputSchema: s.runCodeOutput,
  }, (args) =>
    guarded(async () => {
      const live = await service.spawn(p, { ...args, wait: true });
      return runCodeAnswer((await service.answer(live)).row);
    }));
}

function registerSessions(server: McpServer, service: Service, p: Principal): void {
  const sessions = service.sessions;
  server.registerTool("create_session", {
    title: "Create a session",
    description: "Open a stateful code context: cells run with exec see the variables and files of earlier ones. " +
      "Close it with close_session when done.",
    inputSchema: s.createSessionInput,
    outputSchema: s.sessionOutput,
  }, (args) =>
    guarded(async () => {
      const row = await sessions.create(p, args);
      const out = { sessionId: row.id, state: row.state, agentId: row.agentId, expiresAt: row.expiresAt };
      return answer(`sessionId: ${row.id} (open until ${row.expiresAt} unless idle)`, out);
    }));
  server.registerTool("exec", {
    title: "Run a cell",
    description: "Run one cell of code in a session; answers its value, stdout and stderr.",
    inputSchema: s.execInput,
    outputSchema: s.execOutput,
  }, ({ sessionId, ...body }) => guarded(async () => execAnswer(await sessions.exec(p, sessionId, body))));
  server.registerTool("close_session", {
    title: "Close a session",
    description: "End a session: its context and workspace are gone (volumes stay).",
    inputSchema: s.closeSessionInput,
    outputSchema: s.closeSessionOutput,
  }, ({ sessionId }) =>
    guarded(() => {
      const row = sessions.close(p, sessionId);
      const out = { sessionId: row.id, state: row.state, reason: row.reason };
      return Promise.resolve(answer(`session ${row.id} ${row.state} (${row.reason})`, out));
    }));
}

function registerFiles(server: McpServer, service: Service, p: Principal): void {
  const sessions = service.sessions;
  server.registerTool("write_file", {
    title: "Write a file",
    description: "Write a file into a session's workspace (parents are created); the session's code reads it.",
    inputSchema: s.writeFileInput,
    outputSchema: s.writeFileOutput,
  }, ({ sessionId, path, content, encoding }) =>
    guarded(async () => {
      const bytes = encoding === "base64" ? fromBase64(content) : new TextEncoder().encode(content);
      const scope = await sessions.files(p, sessionId);
      const size = await scope.put(path, new Blob([bytes]).stream(), fileUploadBytesMax);
      return answer(`wrote ${size} bytes to ${path}`, { path, size });
    }));
  server.registerTool("read_file", {
    title: "Read a file",
    description: "Read a file of a session's workspace: text as is, other bytes as base64.",
    inputSchema: s.readFileInput,
    outputSchema: s.readFileOutput,
  }, ({ sessionId, path }) =>
    guarded(async () => {
      const file = await readWhole(await sessions.files(p, sessionId), path, `/v1/sessions/${sessionId}`);
      const { encoding, content } = contentOf(file);
      const text = encoding === "utf8" ? content : `(${file.size} bytes, base64)\n${content}`;
      return answer(text, { path, size: file.size, encoding, content });
    }));
  server.registerTool("list_files", {
    title: "List files",
    description: "List a directory of a session's workspace (default its root).",
    inputSchema: s.listFilesInput,
    outputSchema: s.listFilesOutput,
  }, ({ sessionId, path }) =>
    guarded(async () => {
      const dir = path ?? ".";
      const entries = await (await sessions.files(p, sessionId)).list(dir);
      const lines = entries.map((e) => `${e.isDirectory ? "d" : "-"} ${String(e.size).padStart(10)} ${e.name}`);
      return answer(lines.length === 0 ? `${dir}: empty` : lines.join("\n"), { path: dir, entries });
    }));
}

function fromBase64(content: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.fromBase64(content);
  } catch {
    throw new ApiError(400, "validation_failed", "content: not base64 (standard alphabet, padded)");
  }
}
