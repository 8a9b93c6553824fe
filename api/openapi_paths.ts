/**
 * The operations of agents, events, tenants, policies, the scheduler, the
 * audit log, packages and the unauthenticated routes: rows of the
 * OpenAPI document (`api/openapi.ts`). A new route is one more row here
 * (or in `api/openapi_files.ts`).
 *
 * @module
 */

import { z } from "zod";
import { type Answer, json, type Operation, operationOf } from "./openapi_operation.ts";
import { packageAddSchema } from "./package_schemas.ts";
import {
  agentListQuery,
  agentPatchSchema,
  auditQuery,
  eventsQuery,
  explainSchema,
  keyCreateSchema,
  policyPutSchema,
  schedulerSchema,
  spawnSchema,
  tenantCreateSchema,
  tenantPatchSchema,
} from "./schemas.ts";

/** The head of a tenants operation. */
const tenant = operationOf("tenants");

/** An SSE answer. */
const sse: Answer = {
  description: "an SSE stream: `hello`, then one event per line group (`id:` its seq, `event:` its type, " +
    "`data:` its JSON); `: keepalive` comments while idle; `dropped` when the reader fell behind",
  content: { "text/event-stream": { schema: { type: "string" } } },
};

const lastEventId = {
  name: "Last-Event-ID",
  description: "resume after this event's seq (the `id:` of the last event received)",
};

/** `DELETE /v1/agents/:id` query. */
const killQuery = z.strictObject({
  /** TERM asks the agent to stop; KILL (default) ends it now. */
  signal: z.enum(["TERM", "KILL"]).optional(),
});

/**
 * The rows of agents.
 *
 * @returns the operations
 * @example
 * ```ts
 * agentOperations().find((op) => op.operationId === "waitAgent")?.path; // "/v1/agents/{id}/wait"
 * ```
 */
export function agentOperations(): Operation[] {
  const ended = json("the ended agent with its output (the record is durable)", "AgentEnded");
  return [
    {
      method: "post",
      path: "/v1/agents",
      operationId: "spawnAgent",
      tag: "agents",
      summary: "spawn an agent (`wait: true` runs it to completion and answers 200 with its record)",
      body: spawnSchema,
      responses: { 200: ended, 201: json("spawned: its id and state", "AgentAccepted") },
    },
    {
      method: "get",
      path: "/v1/agents",
      operationId: "listAgents",
      tag: "agents",
      summary: "the tenant's agents, newest first, a page at a time (`next` is the next page's `cursor`)",
      query: agentListQuery,
      responses: { 200: json("a page of agents", "AgentPage") },
    },
    {
      method: "get",
      path: "/v1/agents/{id}",
      operationId: "getAgent",
      tag: "agents",
      summary: "an agent's status",
      responses: { 200: json("the agent", "Agent") },
    },
    {
      method: "delete",
      path: "/v1/agents/{id}",
      operationId: "killAgent",
      tag: "agents",
      summary: "signal an agent (KILL by default)",
      query: killQuery,
      responses: { 202: json("signalled (`killed` false when it had already ended)", "AgentKilled") },
    },
    {
      method: "get",
      path: "/v1/agents/{id}/output",
      operationId: "getAgentOutput",
      tag: "agents",
      summary: "an agent's captured stdout and stderr so far",
      responses: { 200: json("the output", "AgentOutput") },
    },
    {
      method: "get",
      path: "/v1/agents/{id}/wait",
      operationId: "waitAgent",
      tag: "agents",
      summary: "wait until the agent ends, then its record with its output",
      description: "A 503 carries the agent as `agent` with `durable: false` when its record could not be " +
        "written yet (it is written again in the background).",
      responses: { 200: ended },
    },
    {
      method: "put",
      path: "/v1/agents/{id}/policy",
      operationId: "setAgentPolicy",
      tag: "policy",
      summary: "set a running agent's own policy, live (null clears it)",
      body: policyPutSchema,
      responses: { 200: json("the policy's new epoch", "PolicySet") },
    },
  ];
}

/**
 * The rows of the event streams and the stored trace.
 *
 * @returns the operations
 * @example
 * ```ts
 * eventOperations().map((op) => op.operationId); // ["streamAgentEvents", "getAgentTrace", "streamEvents"]
 * ```
 */
export function eventOperations(): Operation[] {
  return [
    {
      method: "get",
      path: "/v1/agents/{id}/events",
      operationId: "streamAgentEvents",
      tag: "events",
      summary: "SSE of one agent: its stored trace, then live until its exit (`follow=false`: what is stored)",
      query: eventsQuery,
      headers: [lastEventId],
      responses: { 200: sse },
    },
    {
      method: "get",
      path: "/v1/agents/{id}/trace",
      operationId: "getAgentTrace",
      tag: "events",
      summary: "one agent's stored trace as JSON lines, one event per line, in seq order",
      query: eventsQuery,
      responses: {
        200: {
          description: "one event's JSON per line",
          content: { "application/x-ndjson": { schema: { type: "string" } } },
        },
      },
    },
    {
      method: "get",
      path: "/v1/events",
      operationId: "streamEvents",
      tag: "events",
      summary: "SSE of the tenant's events (an admin's: everyone's), live",
      query: eventsQuery,
      headers: [lastEventId],
      responses: { 200: sse },
    },
  ];
}

/**
 * The rows of tenants, policies, the scheduler, audit, packages and the unauthenticated routes.
 *
 * @returns the operations
 * @example
 * ```ts
 * tenantOperations().some((op) => op.path === "/healthz" && op.public); // true
 * ```
 */
export function tenantOperations(): Operation[] {
  return [
    ...adminOperations(),
    ...keyOperations(),
    {
      method: "post",
      path: "/v1/policy/explain",
      operationId: "explainPolicy",
      tag: "policy",
      summary: "would this call (or import) be allowed, and by which rule",
      body: explainSchema,
      responses: { 200: json("the decision and the rule that made it", "Decision") },
    },
    {
      method: "get",
      path: "/v1/audit",
      operationId: "listAudit",
      tag: "system",
      summary: "the audit log (the tenant's; an admin's: everyone's), after a seq",
      query: auditQuery,
      responses: { 200: json("audit records in seq order", "AuditPage") },
    },
    {
      method: "get",
      path: "/metrics",
      operationId: "getMetrics",
      tag: "system",
      summary: "Prometheus text exposition (the tenant's series; an admin's: all)",
      responses: {
        200: { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } },
      },
    },
    ...publicOperations(),
    ...packageOperations(),
  ];
}

function adminOperations(): Operation[] {
  return [
    {
      ...tenant("post", "/v1/tenants", "createTenant", "create a tenant (admin); its API key is shown once"),
      body: tenantCreateSchema,
      responses: { 201: json("the tenant and its key", "TenantKey") },
    },
    {
      ...tenant("get", "/v1/tenants", "listTenants", "list tenants (admin)"),
      responses: { 200: json("", "TenantList") },
    },
    {
      ...tenant("patch", "/v1/tenants/{id}", "updateTenant", "update a tenant's quotas (admin)"),
      body: tenantPatchSchema,
      responses: { 200: json("the tenant", "Tenant") },
    },
    {
      ...tenant(
        "post",
        "/v1/tenants/{id}/keys",
        "createTenantKey",
        "a new API key (admin or the tenant); `overlapSec` makes the other keys expire after that window",
      ),
      body: keyCreateSchema,
      responses: { 201: json("the new key (shown once)", "TenantKey") },
    },
    {
      method: "put",
      path: "/v1/tenants/{id}/policy",
      operationId: "setTenantPolicy",
      tag: "policy",
      summary: "set the tenant's policy, live (admin; null clears it)",
      body: policyPutSchema,
      responses: { 200: json("the policy's new epoch", "PolicySet") },
    },
    {
      method: "get",
      path: "/v1/scheduler",
      operationId: "getScheduler",
      tag: "system",
      summary: "the scheduling policy and per-tenant service (admin)",
      responses: { 200: json("policy, syscall and admission statistics", "Scheduler") },
    },
    {
      method: "put",
      path: "/v1/scheduler",
      operationId: "setScheduler",
      tag: "system",
      summary: "switch the scheduling policy at run time (admin)",
      body: schedulerSchema,
      responses: { 200: json("the policy in force", "SchedulerPolicy") },
    },
  ];
}

function publicOperations(): Operation[] {
  const ok = (description: string) => json(description, "Ok");
  return [
    {
      method: "get",
      path: "/healthz",
      operationId: "getHealth",
      tag: "system",
      summary: "liveness",
      public: true,
      responses: { 200: json("the server is up", "Health") },
    },
    {
      method: "get",
      path: "/readyz",
      operationId: "getReadiness",
      tag: "system",
      summary: "readiness (503 while starting or shutting down)",
      public: true,
      responses: { 200: json("warm and serving", "Ready") },
    },
    {
      method: "get",
      path: "/openapi.json",
      operationId: "getOpenApi",
      tag: "system",
      summary: "this document (its `servers` is the URL it was fetched from)",
      public: true,
      responses: { 200: ok("the OpenAPI 3.1 document") },
    },
  ];
}

function packageOperations(): Operation[] {
  const removed = { 200: json("removed", { type: "object", properties: { name: { type: "string" } } }) };
  return [
    {
      method: "post",
      path: "/v1/packages",
      operationId: "addPackage",
      tag: "packages",
      summary: "add an npm package to the store: one exact version, bundled (admin; 201 once it is stored)",
      body: packageAddSchema,
      responses: { 201: json("the stored entry", "Package") },
    },
    {
      method: "get",
      path: "/v1/packages",
      operationId: "listPackages",
      tag: "packages",
      summary: "the stored packages (admin)",
      responses: { 200: json("the packages", "PackageList") },
    },
    {
      method: "delete",
      path: "/v1/packages/{name}",
      operationId: "removePackage",
      tag: "packages",
      summary: "remove a package (admin; a scoped name URL-encoded, `%40scope%2Fname`)",
      responses: removed,
    },
    {
      method: "delete",
      path: "/v1/packages/{scope}/{name}",
      operationId: "removeScopedPackage",
      tag: "packages",
      summary: "remove a scoped package given as two segments (admin; `/v1/packages/@scope/name`)",
      responses: removed,
    },
  ];
}

/** `PATCH /v1/agents/:id`: a running agent's wall-clock limit and labels. */
export function agentPatchOperations(): Operation[] {
  return [
    {
      method: "patch",
      path: "/v1/agents/{id}",
      operationId: "patchAgent",
      tag: "agents",
      summary: "extend (or shorten) a running agent's wallMs within its tenant's ceiling; replace its labels",
      body: agentPatchSchema,
      responses: { 200: json("the agent", "Agent") },
    },
  ];
}

/** The tenant's API keys and usage. */
function keyOperations(): Operation[] {
  return [
    {
      ...tenant("get", "/v1/tenants/{id}/keys", "listTenantKeys", "the tenant's API keys, without secrets"),
      responses: { 200: json("the keys", "ApiKeyList") },
    },
    {
      ...tenant("delete", "/v1/tenants/{id}/keys/{keyId}", "revokeTenantKey", "revoke one API key"),
      responses: { 200: json("the revoked key", "ApiKeyRevoked") },
    },
    {
      ...tenant("get", "/v1/tenants/{id}/usage", "getTenantUsage", "the tenant's usage this UTC day"),
      responses: { 200: json("live agents, spawns, CPU ms, syscalls, disk and egress bytes", "TenantUsage") },
    },
  ];
}
