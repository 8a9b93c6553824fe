/**
 * The shape of one row of the OpenAPI document's table (an operation) and
 * the helpers rows are written with.
 *
 * @module
 */

import type { z } from "zod";
import { ref } from "./openapi_schemas.ts";

/** An HTTP method an operation answers. */
export type Method = "get" | "post" | "put" | "patch" | "delete";

/** One answer of an operation: its description, and its body's media types and schemas. */
export interface Answer {
  description: string;
  content?: Record<string, { schema: Record<string, unknown> }>;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

/** A request body that is not JSON (a file upload). */
export interface RawBody {
  contentType: string;
  description: string;
}

/** One row of the table: a documented route. */
export interface Operation {
  method: Method;
  /** OpenAPI template: `/v1/agents/{id}` (Hono's `:id`; a trailing `*` is `{path}`). */
  path: string;
  /** Unique, camelCase, a verb first: `spawnAgent`. */
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** The JSON body's zod schema (the one the route parses with), or a raw body. */
  body?: z.ZodType | RawBody;
  /** The query's zod object (strict, as the route parses it). */
  query?: z.ZodObject;
  /** Request headers the route reads. */
  headers?: { name: string; description: string }[];
  /** Success answers by status. */
  responses: Record<number, Answer>;
  /** No key needed (health, readiness, this document). */
  public?: boolean;
}

/** The document's tags, with what each groups. */
export const tags = {
  agents: "spawn, wait for, inspect and kill agents",
  events: "live event streams (SSE) and stored traces",
  files: "files of volumes, agents' and sessions' workspaces",
  sessions: "stateful code contexts: run cells one after the other",
  volumes: "persistent volumes agents mount",
  tenants: "tenants, keys and quotas (admin)",
  policy: "policies and explanations",
  system: "scheduler, audit, metrics, health and this document",
  packages: "the npm package store agents import from (admin)",
  mcp: "the Model Context Protocol server (JSON-RPC over Streamable HTTP)",
  webhooks: "signed lifecycle-event deliveries to the tenant's endpoints",
  approvals: "calls a policy `ask` rule holds until a person allows or denies them",
} as const;

/** A tag of {@linkcode tags}. */
export type Tag = keyof typeof tags;

/**
 * The head of the operations of one tag: method, path, id and summary.
 *
 * @example
 * ```ts
 * const volume = operationOf("volumes");
 * volume("post", "/v1/volumes", "createVolume", "create a volume").tag; // "volumes"
 * ```
 */
export function operationOf(
  tag: Tag,
): (method: Method, path: string, operationId: string, summary: string) => Omit<Operation, "responses"> {
  return (method, path, operationId, summary) => ({ method, path, operationId, tag, summary });
}

/**
 * A JSON answer whose body is `schema` (a component name or a schema).
 *
 * @example
 * ```ts
 * json("the agent", "Agent"); // { description: "the agent", content: { "application/json": ... } }
 * ```
 */
export function json(description: string, schema: Parameters<typeof ref>[0] | Record<string, unknown>): Answer {
  return {
    description,
    content: { "application/json": { schema: typeof schema === "string" ? ref(schema) : schema } },
  };
}
