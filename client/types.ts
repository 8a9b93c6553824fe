/**
 * The request and answer types of the SDK, derived from the zod schemas
 * the server validates with (`z.input` of each) and the server's own row
 * types — type-only imports, so nothing of the server is loaded at run
 * time and the SDK cannot drift from what the server accepts.
 *
 * @example
 * ```ts
 * import type { SpawnRequest } from "./types.ts";
 * const body: SpawnRequest = { code: "export default () => 1", capabilities: ["fs.read"] };
 * ```
 *
 * @module
 */

import type { z } from "zod";
import type {
  AgentRow,
  eventsQuery,
  ExecAnswer,
  explainSchema,
  FileEntry,
  policyPutSchema,
  quotasSchema,
  schedulerSchema,
  sessionCreateSchema,
  sessionExecSchema,
  sessionListQuery,
  sessionPatchSchema,
  SessionRow,
  spawnSchema,
  StoredPackage,
  StreamEvent,
  tenantCreateSchema,
  TenantRow,
  volumeCreateSchema,
  VolumeView,
} from "../api/mod.ts";

/** `POST /v1/agents` body. */
export type SpawnRequest = z.input<typeof spawnSchema>;
/** What `spawn`/`run` take besides the code (everything of a spawn body but `code` and `wait`). */
export type SpawnOptions = Omit<SpawnRequest, "code" | "wait">;
/** `GET /v1/agents/:id/events` query. */
export type EventsQuery = z.input<typeof eventsQuery>;
/** `POST /v1/sessions` body. */
export type SessionCreate = z.input<typeof sessionCreateSchema>;
/** `PATCH /v1/sessions/:id` body. */
export type SessionPatch = z.input<typeof sessionPatchSchema>;
/** `POST /v1/sessions/:id/exec` body. */
export type SessionExec = z.input<typeof sessionExecSchema>;
/** `GET /v1/sessions` query. */
export type SessionListQuery = z.input<typeof sessionListQuery>;
/** `POST /v1/volumes` body. */
export type VolumeCreate = z.input<typeof volumeCreateSchema>;
/** A policy document (`null` clears it). */
export type PolicyDocument = z.input<typeof policyPutSchema>;
/** `POST /v1/policy/explain` body. */
export type ExplainRequest = z.input<typeof explainSchema>;
/** `POST /v1/tenants` body. */
export type TenantCreate = z.input<typeof tenantCreateSchema>;
/** A scheduling policy (`fair`, `round-robin`, `priority`). */
export type SchedulerPolicy = z.input<typeof schedulerSchema>["policy"];
/** Tenant quotas. */
export type Quotas = z.input<typeof quotasSchema>;

/** An agent as `GET /v1/agents/:id` answers. */
export type AgentStatus = Omit<AgentRow, "stdout" | "stderr">;
/** A finished agent as `wait` and `run` answer: its status plus its captured output. */
export type AgentRecord = AgentRow & {
  /** Present (false) on a 503 answer: the agent ran, its record is written again in the background. */
  durable?: boolean;
};
/** A session as the API answers. */
export type SessionInfo = Omit<SessionRow, "tenantId">;
/** A cell's answer. */
export type ExecResult = ExecAnswer;
/** One event of an agent's stream (`syscall`, `lifecycle`, `output`, `denial`, `import`, `exit`, ...). */
export type AgentEvent = StreamEvent;
/** A directory entry. */
export type { FileEntry, StoredPackage, TenantRow as TenantInfo, VolumeView as VolumeInfo };
