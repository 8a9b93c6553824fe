/**
 * Request bodies and queries of the session routes (zod, strict: unknown
 * keys are a 400); their operations are in `api/openapi_files.ts`.
 *
 * @module
 */

import { z } from "zod";
import { limitsSchema, replCellCharsMax } from "../sandbox/mod.ts";
import { spawnRequestSchema } from "../sandbox/mod.ts";
import { volumesSchema } from "./mount_schema.ts";
import { labelQuery, labelsSchema } from "./labels.ts";
import { cellTimeoutMsMax, sessionIdleMsMin, sessionTtlMsMax } from "./limits.ts";

const labels = labelsSchema;

/** `POST /v1/sessions`. */
export const sessionCreateSchema = z.strictObject({
  capabilities: spawnRequestSchema.shape.capabilities,
  limits: limitsSchema.optional(),
  policy: spawnRequestSchema.shape.policy,
  /** Volumes to mount in the session's workspace, as a spawn's. */
  volumes: volumesSchema.optional(),
  /** The cells' language when `exec` gives none (default `js`). */
  lang: z.enum(["js", "ts"]).optional(),
  idleTimeoutMs: z.int().min(sessionIdleMsMin).max(sessionTtlMsMax).optional(),
  ttlMs: z.int().min(1000).max(sessionTtlMsMax).optional(),
  labels: labels.optional(),
});

/** `PATCH /v1/sessions/:id`. */
export const sessionPatchSchema = z.strictObject({
  /** The session's whole time to live, from its creation. */
  ttlMs: z.int().min(1000).max(sessionTtlMsMax).optional(),
  idleTimeoutMs: z.int().min(sessionIdleMsMin).max(sessionTtlMsMax).optional(),
  labels: labels.optional(),
});

/** `POST /v1/sessions/:id/exec`. */
export const sessionExecSchema = z.strictObject({
  code: z.string().max(replCellCharsMax),
  lang: z.enum(["js", "ts"]).optional(),
  /** The cell's wall and CPU time, ms. */
  timeoutMs: z.int().min(1).max(cellTimeoutMsMax).optional(),
});

/** `GET /v1/sessions` query (`label` may repeat: every one must match). */
export const sessionListQuery = z.strictObject({
  /** `key=value` or `key`; repeatable (the route checks every value). */
  label: labelQuery.optional(),
  state: z.enum(["open", "ended"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** A session body, as validated. */
export type SessionCreate = z.infer<typeof sessionCreateSchema>;
/** A patch body, as validated. */
export type SessionPatch = z.infer<typeof sessionPatchSchema>;
/** An exec body, as validated. */
export type SessionExec = z.infer<typeof sessionExecSchema>;
