/**
 * zod schemas of every HTTP body and query: the same objects validate
 * requests and generate `/openapi.json` (`api/openapi.ts`).
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
import { apiKeyLifetimeSecMax, volumeQuotaBytesMax, volumeQuotaFilesMax } from "./limits.ts";
import { auditActions } from "./audit_actions.ts";
import { decodeCursor } from "./cursor.ts";
import { labelQuery, labelsSchema } from "./labels.ts";

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
  /** `{key: value}` to find it by (`GET /v1/agents?label=k=v`). */
  labels: labelsSchema.optional(),
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

/** `POST /v1/tenants/:id/keys` (every field optional; a request without a body is `{}`). */
export const keyCreateSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "letters, digits, _ . and -, 1–63 chars").optional(),
  /** The new key stops working after this, s (default: until revoked). */
  expiresInSec: z.int().min(1).max(apiKeyLifetimeSecMax).optional(),
  /** The tenant's other keys stop working after this, s (0: now; default: they stay until revoked). */
  overlapSec: z.int().min(0).max(apiKeyLifetimeSecMax).optional(),
});

/** `PATCH /v1/tenants/:id`. */
export const tenantPatchSchema = z.strictObject({ quotas: quotasSchema });

/** `PATCH /v1/agents/:id`: a running agent's wall-clock limit from its start, ms (within the tenant's ceiling). */
export const agentPatchSchema = z.strictObject({
  wallMs: limitInt(agentLimitsMax.wallMs).min(1).optional(),
  /** Replace the agent's labels (a running or an ended agent's). */
  labels: labelsSchema.optional(),
});

/** `GET /v1/agents` query. */
export const agentListQuery = z.strictObject({
  state: z.enum(["Running", "Zombie"]).optional(),
  /** `key=value` or `key`; repeatable, every one must match. */
  label: labelQuery.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  /** The `next` of the previous page (opaque; `api/cursor.ts`). */
  cursor: z.string().max(200).refine(
    (s) => decodeCursor(s) !== undefined,
    "not a cursor this server issued: pass the `next` of a previous page",
  ).optional(),
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
  action: z.enum(auditActions, { error: `one of ${auditActions.join(", ")}` }).optional(),
});
