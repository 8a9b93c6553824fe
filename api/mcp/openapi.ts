/**
 * The `/mcp` rows of the OpenAPI document: one JSON-RPC endpoint (what
 * the messages mean is the MCP specification's and the tools' own JSON
 * Schemas, listed by `tools/list`). `GET` and `DELETE` are refused by a
 * middleware (405), so they are no operations.
 *
 * @module
 */

import { z } from "zod";
import { json, type Operation } from "../openapi_operation.ts";

/** A JSON-RPC 2.0 message as `POST /mcp` takes it (the SDK checks it in full). */
export const jsonRpcMessageSchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string(), z.int()]).optional().describe("absent for a notification"),
  method: z.string().describe("`initialize`, `tools/list`, `tools/call`, `resources/list`, `resources/read`, ..."),
  params: z.record(z.string(), z.unknown()).optional(),
}).describe("a JSON-RPC request or notification");

const rpcAnswer = {
  type: "object",
  properties: {
    jsonrpc: { const: "2.0" },
    id: { type: ["string", "integer", "null"] },
    result: {
      type: "object",
      description: "the method's result (a tool's: `content`, `structuredContent`, `isError`)",
    },
    error: {
      type: "object",
      properties: { code: { type: "integer" }, message: { type: "string" } },
      required: ["code", "message"],
    },
  },
  required: ["jsonrpc"],
};

/**
 * The operations of `/mcp`.
 *
 * @example
 * ```ts
 * mcpOperations().map((op) => op.operationId); // ["postMcpMessage"]
 * ```
 */
export function mcpOperations(): Operation[] {
  return [
    {
      method: "post",
      path: "/mcp",
      operationId: "postMcpMessage",
      tag: "mcp",
      summary: "one MCP JSON-RPC message (Streamable HTTP transport, stateless)",
      description: "Send `Accept: application/json, text/event-stream`. The answer is JSON; a refused body is a " +
        "JSON-RPC error (`-32700` with 400, `-32000` with 413 over 2 MiB). Stateless: `GET` (a server-sent " +
        "stream) and `DELETE` (end a session) are 405 `Allow: POST`.",
      headers: [{ name: "MCP-Protocol-Version", description: "the protocol version `initialize` agreed on" }],
      body: jsonRpcMessageSchema,
      responses: {
        200: json("the JSON-RPC answer", rpcAnswer),
        202: { description: "a notification or a response: accepted, nothing to answer" },
      },
    },
  ];
}
