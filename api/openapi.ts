/**
 * The OpenAPI 3.1 document served at `/openapi.json`, built from one table
 * of operations (`api/openapi_paths.ts`, `api/openapi_files.ts`): each row
 * names its method, path, `operationId`, tag, the zod schemas of its body
 * and query (the objects the routes validate with) and its answers.
 * Path parameters come from the path template, error answers (`4XX`, `5XX`,
 * the `{error: {code, message}}` body) and bearer security are added to
 * every row. Documenting a new route is adding one row;
 * `tests/api/openapi_test.ts` fails while a registered route has none.
 *
 * @module
 */

import { webhookOperations } from "./webhooks/mod.ts";
import { approvalOperations } from "./approvals.ts";
import { z } from "zod";
import { errorSchema, responseSchemas } from "./openapi_schemas.ts";
import { type Operation, type RawBody, tags } from "./openapi_operation.ts";
import { agentOperations, agentPatchOperations, eventOperations, tenantOperations } from "./openapi_paths.ts";
import { fileOperations, sessionOperations } from "./openapi_files.ts";
import { mcpOperations } from "./mcp/mod.ts";

export { type Answer, json, type Method, type Operation, type RawBody, type Tag, tags } from "./openapi_operation.ts";

/** What a path parameter is, by name. */
const pathParams: Record<string, { description: string; schema: Record<string, unknown> }> = {
  id: { description: "the resource's id (`ag_…`, `ss_…`, `tn_…`)", schema: { type: "string", maxLength: 64 } },
  name: { description: "the name", schema: { type: "string", maxLength: 300 } },
  scope: { description: "an npm scope, with its `@`", schema: { type: "string", pattern: "^@[^/]+$" } },
  path: {
    description: "the file's path in the scope, slashes kept; each segment percent-encoded once (`%2F` is a slash)",
    schema: { type: "string", minLength: 1 },
  },
};

/**
 * An OpenAPI path of a Hono route: `:id` → `{id}`, `:scope{re}` → `{scope}`, a trailing `*` → `{path}`.
 *
 * @param honoPath the route as registered (`/v1/volumes/:name/files/*`)
 * @returns the template (`/v1/volumes/{name}/files/{path}`)
 * @example
 * ```ts
 * openApiPathOf("/v1/packages/:scope{@[^/]+}/:name"); // "/v1/packages/{scope}/{name}"
 * ```
 */
export function openApiPathOf(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}").replace(/\/\*$/, "/{path}");
}

/** The document's parameters of one row: its path's, its query's, its headers. */
function parameters(op: Operation): Record<string, unknown>[] {
  const params: Record<string, unknown>[] = [];
  for (const [, name] of op.path.matchAll(/\{(\w+)\}/g)) {
    const known = pathParams[name] ?? { description: name, schema: { type: "string" } };
    params.push({ name, in: "path", required: true, ...known });
  }
  if (op.query) {
    const schema = z.toJSONSchema(op.query, { io: "input" }) as {
      properties?: Record<string, Record<string, unknown>>;
      required?: string[];
    };
    for (const [name, { description, ...property }] of Object.entries(schema.properties ?? {})) {
      const required = schema.required?.includes(name) ?? false;
      params.push({ name, in: "query", required, ...(description ? { description } : {}), schema: property });
    }
  }
  for (const h of op.headers ?? []) {
    params.push({
      name: h.name,
      in: "header",
      required: false,
      description: h.description,
      schema: { type: "string" },
    });
  }
  return params;
}

/** The request body of one row. */
function requestBody(body: z.ZodType | RawBody): Record<string, unknown> {
  if (body instanceof z.ZodType) {
    const { $schema: _, ...schema } = z.toJSONSchema(body, { io: "input" });
    return { required: true, content: { "application/json": { schema } } };
  }
  const schema = { type: "string", contentEncoding: "binary" };
  return { required: true, description: body.description, content: { [body.contentType]: { schema } } };
}

/** One row as an OpenAPI operation object. */
function operationObject(op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.responses)) responses[status] = answer;
  responses["4XX"] = { $ref: "#/components/responses/Error" };
  responses["5XX"] = { $ref: "#/components/responses/Error" };
  const parameterList = parameters(op);
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(parameterList.length > 0 ? { parameters: parameterList } : {}),
    ...(op.body ? { requestBody: requestBody(op.body) } : {}),
    responses,
    ...(op.public ? { security: [] } : {}),
  };
}

/** Every documented operation, in the document's order. */
export function operations(): Operation[] {
  return [
    ...agentOperations(),
    ...agentPatchOperations(),
    ...eventOperations(),
    ...sessionOperations(),
    ...fileOperations(),
    ...tenantOperations(),
    ...mcpOperations(),
    ...webhookOperations(),
    ...approvalOperations(),
  ];
}

let paths: Record<string, Record<string, unknown>> | undefined;

/** The paths object (built once: the schemas do not change while the server runs). */
function documentPaths(): Record<string, Record<string, unknown>> {
  if (paths) return paths;
  const built: Record<string, Record<string, unknown>> = {};
  for (const op of operations()) (built[op.path] ??= {})[op.method] = operationObject(op);
  return paths = built;
}

/**
 * The OpenAPI document.
 *
 * @param serverUrl the server's own URL for `servers` (the origin the request came to); `/` when unknown
 * @returns the document (OpenAPI 3.1)
 * @example
 * ```ts
 * app.get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)));
 * ```
 */
export function openApiDocument(serverUrl = "/"): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "agentos",
      version: "0.1.0",
      description: "A sandbox server: agents (untrusted JS/TS) run in permission-less cells; " +
        "every effect is a syscall checked by the kernel. Authenticate with `Authorization: Bearer <key>`.",
    },
    servers: [{ url: serverUrl, description: "this server" }],
    tags: Object.entries(tags).map(([name, description]) => ({ name, description })),
    security: [{ bearer: [] }],
    paths: documentPaths(),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "a tenant's or the admin's API key" } },
      schemas: { ...responseSchemas, Error: errorSchema },
      responses: {
        Error: {
          description: "an error: `{error: {code, message}}`, the message says what to do",
          headers: {
            "Retry-After": {
              description: "on a 429 and a 503 that will pass: seconds to wait before trying again",
              schema: { type: "integer" },
            },
          },
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}
