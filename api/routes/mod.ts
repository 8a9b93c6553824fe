/**
 * The routes of the HTTP API, one module per group.
 *
 * @module
 */

export { agentRoutes, agentView } from "./agents.ts";
export { eventRoutes } from "./events.ts";
export { tenantRoutes } from "./tenants.ts";
export { traceRoutes } from "./trace.ts";
