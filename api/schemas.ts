/**
 * zod schemas of every HTTP body and query: the same objects validate
 * requests and generate `/openapi.json`.
 *
 * @module
 */

import { z } from "zod";
import { agentLimitsMax } from "../kernel/mod.ts";
import { tenantQuotasMax } from "../kernel/tenants/mod.ts";
import { limitInt, limitsSchema, spawnRequestSchema } from "../sandbox/mod.ts";
import { priorityMax, priorityMin } from "../kernel/sched/mod.ts";
import { volumeNamePattern } from "../sandbox/fs/mod.ts";
import { volumesSchema } from "./mount_schema.ts";
import { sessionPaths } from "./session_schemas.ts";
import { packagePaths } from "./package_schemas.ts";
import { volumeQuotaBytesMax, volumeQuotaFilesMax } from "./limits.ts";
import { webhookPaths } from "./webhooks/mod.ts";

export { limitsSchema };

/** Largest seeded file of a spawn (`files`), bytes (text as UTF-8, base64 decoded). */
export const spawnFileBytesMax = 1024 * 1024;

/** A file's content in a spawn: UTF-8 text, or bytes as `{base64}` (standard alphabet, padded). */
const fileContent = z.union([
  z.string().max(spawnFileBytesMax),
  z.strictObject({
    base64: z.string().max(Math.ceil(spawnFileBytesMax / 3) * 4)
      .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, "not base64 (standard, padded)"),
  }),
]);

/** `POST /v1/agents`. */
export const spawnSchema = spawnRequestSchema.extend({
  files: z.record(z.string().min(1).max(1024), fileContent).optional()
    .refine((f) => f === undefined || Object.keys(f).length <= 256, "at most 256 files"),
  volumes: volumesSchema.optional(),
  wait: z.boolean().optional(),
  /** Scheduling priority 0..39, lower = more weight (default 20). */
  priority: z.int().min(priorityMin).max(priorityMax).optional(),
  /** `full`: every syscall in the agent's stream and stored trace, none sampled out; each costs one more rate token. */
  trace: z.enum(["sampled", "full"]).optional(),
});

/** `POST /v1/volumes`. */
export const volumeCreateSchema = z.strictObject({
  name: z.string().regex(volumeNamePattern, "lowercase letters, digits, ., _ and -, 1–63 chars"),
  quotaBytes: z.int().min(0).max(volumeQuotaBytesMax).optional(),
  quotaFiles: z.int().min(0).max(volumeQuotaFilesMax).optional(),
});

/** `PUT /v1/scheduler`. */
export const schedulerSchema = z.strictObject({ policy: z.enum(["fair", "round-robin", "priority"]) });

/** `PUT /v1/tenants/:id/policy` and `PUT /v1/agents/:id/policy`: a policy document, or null to clear. */
export const policyPutSchema = z.union([z.null(), z.record(z.string(), z.unknown())]);

/** `POST /v1/policy/explain`. */
export const explainSchema = z.strictObject({
  tenantId: z.string().max(64).optional(),
  policy: z.record(z.string(), z.unknown()).optional(),
  request: z.union([
    z.strictObject({
      call: z.string().min(1).max(128),
      path: z.string().max(4096).optional(),
      host: z.string().max(255).optional(),
      port: z.int().min(0).max(65535).optional(),
      method: z.string().max(32).optional(),
    }),
    z.strictObject({
      /** A package: `"lodash"` (the store's pinned version) or `"lodash@4.17.21"`. */
      import: z.string().min(1).max(300),
      /** As `import(name)` with a name computed at run time. */
      dynamic: z.boolean().optional(),
    }),
  ]),
});

/** Tenant quotas. */
export const quotasSchema = z.strictObject({
  agentsConcurrentMax: z.int().min(0).max(10_000).optional(),
  spawnsPerSec: z.int().min(0).max(10_000).optional(),
  rssMbTotal: z.int().min(0).max(1_000_000).optional(),
  syscallsPerSec: z.int().min(0).max(10_000_000).optional(),
  inflightBytesMax: z.int().min(0).max(tenantQuotasMax.inflightBytesMax).optional(),
  arenaBytesMax: z.int().min(0).max(tenantQuotasMax.arenaBytesMax).optional(),
  diskBytes: z.int().min(0).max(agentLimitsMax.diskBytes).optional(),
  heapMb: limitInt(agentLimitsMax.heapMb).optional(),
  rssMb: limitInt(agentLimitsMax.rssMb).optional(),
  wallMs: limitInt(agentLimitsMax.wallMs).optional(),
  cpuMs: limitInt(agentLimitsMax.cpuMs).optional(),
  outputBytes: limitInt(agentLimitsMax.outputBytes).optional(),
});

/** `POST /v1/tenants`. */
export const tenantCreateSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, _ and -, 1–63 chars"),
  quotas: quotasSchema.optional(),
});

/** `PATCH /v1/tenants/:id`. */
export const tenantPatchSchema = z.strictObject({ quotas: quotasSchema });

/** `GET /v1/agents` query. */
export const agentListQuery = z.strictObject({
  state: z.enum(["Running", "Zombie"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(200).optional(),
});

/** `GET /v1/events` and `/v1/agents/:id/events` query. */
export const eventsQuery = z.strictObject({
  calls: z.string().max(1000).optional(),
  errors: z.enum(["true", "false"]).optional(),
  types: z.string().max(200).optional(),
  causality: z.coerce.number().int().min(0).optional(),
  /** One agent's stream: `false` sends what is stored and ends (default: continue live until the exit). */
  follow: z.enum(["true", "false"]).optional(),
});

/** `GET /v1/audit` query. */
export const auditQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  action: z.string().max(64).optional(),
});

const errorRef = "#/components/schemas/Error";

/** The paths of an agent's events: its SSE stream and its stored trace. */
function tracePaths(responses: unknown): Record<string, unknown> {
  return {
    "/v1/agents/{id}/events": { get: { summary: "SSE of one agent: its trace, then live until exit", responses } },
    "/v1/agents/{id}/trace": { get: { summary: "one agent's stored trace as JSON lines", responses } },
  };
}

/** The OpenAPI document, generated from the schemas above. */
export function openApiDocument(): Record<string, unknown> {
  const body = (schema: z.ZodType) => ({
    required: true,
    content: { "application/json": { schema: z.toJSONSchema(schema, { io: "input" }) } },
  });
  const error = { description: "error", content: { "application/json": { schema: { $ref: errorRef } } } };
  const responses = { 400: error, 401: error, 404: error, 413: error, 429: error, 503: error };
  return {
    openapi: "3.1.0",
    info: { title: "agentos", version: "0.1.0" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          properties: {
            error: {
              type: "object",
              properties: { code: { type: "string" }, message: { type: "string" }, issues: { type: "array" } },
              required: ["code", "message"],
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/agents": {
        post: {
          summary: "spawn an agent (wait:true runs it to completion)",
          requestBody: body(spawnSchema),
          responses,
        },
        get: { summary: "list agents", responses },
      },
      "/v1/agents/{id}": { get: { summary: "agent status", responses }, delete: { summary: "kill", responses } },
      "/v1/agents/{id}/output": { get: { summary: "captured stdout/stderr", responses } },
      ...tracePaths(responses),
      "/v1/events": { get: { summary: "SSE stream of the tenant", responses } },
      ...filePaths(body, responses),
      "/v1/tenants": {
        post: { summary: "create tenant (admin)", requestBody: body(tenantCreateSchema), responses },
        get: { summary: "list tenants (admin)", responses },
      },
      "/v1/tenants/{id}": {
        patch: { summary: "update quotas (admin)", requestBody: body(tenantPatchSchema), responses },
      },
      "/v1/tenants/{id}/keys": { post: { summary: "rotate the tenant's API key (admin)", responses } },
      "/v1/audit": { get: { summary: "audit log", responses } },
      "/v1/tenants/{id}/policy": {
        put: { summary: "set the tenant's policy, live (admin)", requestBody: body(policyPutSchema), responses },
      },
      "/v1/agents/{id}/policy": {
        put: { summary: "set an agent's own policy, live", requestBody: body(policyPutSchema), responses },
      },
      "/v1/scheduler": {
        get: { summary: "scheduler policy and per-tenant service (admin)", responses },
        put: { summary: "switch scheduling policy at run time (admin)", requestBody: body(schedulerSchema), responses },
      },
      "/v1/policy/explain": {
        post: { summary: "would this call be allowed, and why", requestBody: body(explainSchema), responses },
      },
      ...sessionPaths(body, responses),
      ...packagePaths(body, responses, error),
      ...webhookPaths(body, responses),
      "/metrics": { get: { summary: "Prometheus text exposition", responses } },
      "/healthz": { get: { summary: "liveness", security: [], responses: {} } },
      "/readyz": { get: { summary: "readiness", security: [], responses: {} } },
    },
  };
}

/** The OpenAPI paths of volumes and files. */
function filePaths(body: (schema: z.ZodType) => unknown, responses: unknown): Record<string, unknown> {
  return {
    "/v1/volumes": {
      post: { summary: "create a volume", requestBody: body(volumeCreateSchema), responses },
      get: { summary: "list the tenant's volumes", responses },
    },
    "/v1/volumes/{name}": { get: { summary: "a volume", responses }, delete: { summary: "delete", responses } },
    "/v1/volumes/{name}/files": { get: { summary: "list a directory (?dir=)", responses } },
    "/v1/volumes/{name}/files/{path}": {
      put: { summary: "upload (binary body, streamed, atomic)", responses },
      get: { summary: "download (Range)", responses },
      delete: { summary: "delete (?recursive=true)", responses },
    },
    "/v1/agents/{id}/files": { get: { summary: "list a running agent's directory (?dir=)", responses } },
    "/v1/agents/{id}/files/{path}": {
      put: { summary: "upload into a running agent's workspace", responses },
      get: { summary: "download from a running agent's workspace", responses },
      delete: { summary: "delete in a running agent's workspace", responses },
    },
  };
}
