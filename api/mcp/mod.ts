/**
 * The MCP server at `/mcp`: the Streamable HTTP transport of
 * `@modelcontextprotocol/sdk`, stateless (a fresh server and transport per
 * `POST`, answered as JSON), behind the same authentication and rate
 * buckets as `/v1/*` (a tenant's Bearer key; 401 otherwise). The body is
 * read here under `bodyBytesMax` and parsed as every API body is (depth
 * checked, no prototype keys); refusals are JSON-RPC errors. Every other
 * method (`GET`: a server-sent stream, `DELETE`: end a session) is 405
 * `Allow: POST`: there is no MCP session to stream to or end.
 *
 * @module
 */

import type { Context, Hono, MiddlewareHandler } from "hono";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { JsonDepthError, parseJsonNullProto } from "../../kernel/syscall/mod.ts";
import type { Env } from "../http.ts";
import { bodyBytesMax, bodyTokenBytes } from "../limits.ts";
import type { Principal, Service } from "../service.ts";
import { registerResources } from "./resources.ts";
import { registerTools } from "./tools.ts";

export { mcpToolNames } from "./tools.ts";
export { fileUri, fileUriTemplate } from "./files.ts";
export { jsonRpcMessageSchema, mcpOperations } from "./openapi.ts";

/** The path the MCP server answers at. */
export const mcpPath = "/mcp";

/**
 * Mount `/mcp` on `app`: `guard` authenticates and rates as for `/v1/*`.
 *
 * @example
 * ```ts
 * mcpRoutes(app, service, authenticateAndRate(service, limits, edge));
 * ```
 */
export function mcpRoutes(app: Hono<Env>, service: Service, guard: MiddlewareHandler<Env>): void {
  app.use(mcpPath, guard);
  // A middleware, not routes: GET and DELETE are no operations of this server (none in /openapi.json).
  app.use(mcpPath, async (c, next) => {
    if (c.req.method === "POST") return await next();
    const why =
      `this MCP server is stateless and answers POST only (${c.req.method} has no stream or session to serve)`;
    return rpcError(c, 405, -32000, why, { allow: "POST" });
  });
  app.post(mcpPath, async (c) => {
    const body = await readBody(c);
    if (body instanceof Response) return body;
    const server = mcpServer(service, c.get("principal"));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw, { parsedBody: body });
    } finally {
      await server.close();
    }
  });
}

/**
 * The MCP server of one request: every tool and resource, acting as `p`.
 *
 * @example
 * ```ts
 * const server = mcpServer(service, principal);
 * await server.connect(transport);
 * ```
 */
export function mcpServer(service: Service, p: Principal): McpServer {
  const server = new McpServer(
    { name: "agentos", version: "0.1.0" },
    {
      instructions: "A sandbox for code. run_code runs a program once; for state across calls use " +
        "create_session, then exec, write_file, read_file, list_files, and close_session when done.",
    },
  );
  registerTools(server, service, p);
  registerResources(server, service, p);
  return server;
}

/** The request's JSON-RPC message(s), or the JSON-RPC error answering a body that is too big or not JSON. */
async function readBody(c: Context<Env>): Promise<unknown | Response> {
  const rate = c.get("rate");
  const declared = Number(c.req.header("content-length") ?? 0);
  const tooBig = () => {
    rate.charge(rate.rejectedBodyTokens);
    return rpcError(c, 413, -32000, `body over ${bodyBytesMax} bytes (bodyBytesMax)`, { connection: "close" });
  };
  if (declared > bodyBytesMax) return tooBig();
  const text = await boundedText(c.req.raw.body, bodyBytesMax);
  if (text === undefined) return tooBig();
  const unpaid = Math.floor(text.length / bodyTokenBytes) - rate.bodyTokens;
  if (unpaid > 0) rate.charge(unpaid);
  try {
    return parseJsonNullProto(text);
  } catch (err) {
    rate.charge(rate.rejectedBodyTokens);
    const why = err instanceof JsonDepthError ? `nested deeper than ${err.depthMax} levels` : "not valid JSON";
    return rpcError(c, 400, -32700, `Parse error: the body is ${why}`);
  }
}

/** A body read as text, or `undefined` once it passes `bytesMax` (the rest is not read). */
async function boundedText(body: ReadableStream<Uint8Array> | null, bytesMax: number): Promise<string | undefined> {
  if (body === null) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > bytesMax) return undefined;
    chunks.push(chunk);
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}

function rpcError(c: Context<Env>, status: 400 | 405 | 413, code: number, message: string, headers = {}): Response {
  return c.json({ jsonrpc: "2.0", error: { code, message }, id: null }, status, headers);
}
