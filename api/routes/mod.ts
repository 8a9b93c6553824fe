/**
 * The routes of the HTTP API, one module per group.
 *
 * @module
 */

export { agentRoutes, agentView } from "./agents.ts";
export { eventRoutes } from "./events.ts";
export { sessionRoutes, sessionView } from "./sessions.ts";
export { tenantRoutes } from "./tenants.ts";
export { fileRoutes, type FileScopeOf, uploadPathPattern } from "./files.ts";
export { volumeRoutes } from "./volumes.ts";
export { traceRoutes } from "./trace.ts";
export { packageOr4xx, packageRoutes } from "./packages.ts";
export { webhookRoutes } from "./webhooks.ts";
export { approvalRoutes } from "./approvals.ts";
