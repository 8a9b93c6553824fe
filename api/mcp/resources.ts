/**
 * The MCP resources of one caller: the files of their open sessions, as
 * the template `agentos://sessions/{id}/files/{+path}` (listed breadth
 * first, read whole up to `mcpFileBytesMax`). A session of another tenant
 * is not found, as over HTTP.
 *
 * @module
 */

// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ErrorCode, McpError, type ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { ApiError } from "../api_error.ts";
import type { Principal, Service } from "../service.ts";
import { fileUriTemplate, listSessionFiles, readWhole, uriVariable } from "./files.ts";

/** The JSON-RPC code of an unknown resource (MCP specification). */
const resourceNotFound = -32002;

/**
 * Register the session-files template on `server`, acting as `p`.
 *
 * @example
 * ```ts
 * registerResources(server, service, principal);
 * ```
 */
export function registerResources(server: McpServer, service: Service, p: Principal): void {
  const sessions = service.sessions;
  const template = new ResourceTemplate(fileUriTemplate, {
    list: async () => {
      const files = await mcpErrors(() => listSessionFiles(sessions, p));
      return { resources: files.map((f) => ({ uri: f.uri, name: f.name, size: f.size })) };
    },
  });
  server.registerResource("session-files", template, {
    title: "Session files",
    description: "A file of one of your open sessions' workspaces (text, or base64 bytes).",
  }, (uri, vars) =>
    mcpErrors(async (): Promise<ReadResourceResult> => {
      const id = uriVariable(vars.id, "session id");
      const path = uriVariable(vars.path, "path");
      const file = await readWhole(await sessions.files(p, id), path, `/v1/sessions/${id}`);
      const content = file.text !== undefined
        ? { uri: uri.href, mimeType: file.mimeType, text: file.text }
        : { uri: uri.href, mimeType: file.mimeType, blob: file.bytes.toBase64() };
      return { contents: [content] };
    }));
}

/** An `ApiError` as the MCP error a client sees (`code: message`; a 404 is "resource not found"); a bug is logged. */
async function mcpErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ApiError)) {
      console.error(`mcp resource failed: ${err instanceof Error ? err.stack : err}`);
      throw new McpError(ErrorCode.InternalError, "internal: internal error");
    }
    const code = err.status === 404 || err.code === "session_ended" ? resourceNotFound : ErrorCode.InvalidParams;
    throw new McpError(code, `${err.code}: ${err.message}`);
  }
}
