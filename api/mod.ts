/**
 * The HTTP server: the supervisor's API (start it with startServer; options
 * from the environment with serverOptionsFromEnv; a StartupError is an
 * operator's problem, stated in one line).
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { serverOptionsFromEnv, startServer, StartupError, startupExitCode } from "./server.ts";

// The client SDK (`client/`) derives its request and answer types from these: types only, nothing at run time.
export type {
  agentListQuery,
  eventsQuery,
  explainSchema,
  policyPutSchema,
  quotasSchema,
  schedulerSchema,
  spawnSchema,
  tenantCreateSchema,
  tenantPatchSchema,
  volumeCreateSchema,
} from "./schemas.ts";
export type {
  sessionCreateSchema,
  sessionExecSchema,
  sessionListQuery,
  sessionPatchSchema,
} from "./session_schemas.ts";
export type { packageAddSchema } from "./package_schemas.ts";
export type { ApprovalView } from "./approvals.ts";
export type { AgentRow, TenantRow } from "./store_rows.ts";
export type { SessionRow } from "./session_rows.ts";
export type { ExecAnswer } from "./sessions.ts";
export type { VolumeView } from "./volumes.ts";
export type { StreamEvent } from "./events.ts";
export type { FileEntry } from "../sandbox/fs/mod.ts";
export type { StoredPackage } from "../sandbox/packages/mod.ts";
