/**
 * JSON Schemas of the answers (`components.schemas` of `/openapi.json`).
 * Requests are described by the zod schemas that validate them
 * (`api/schemas.ts`); answers are built by the routes' views
 * (`agentView`, `sessionView`, ...), described here next to nothing else so
 * that a change of a view has one obvious place to follow.
 *
 * @module
 */

type Schema = Record<string, unknown>;

const str: Schema = { type: "string" };
const int: Schema = { type: "integer" };
const bool: Schema = { type: "boolean" };
const time: Schema = { type: "string", format: "date-time" };
const nullable = (type: string, extra: Schema = {}): Schema => ({ type: [type, "null"], ...extra });
const numbers: Schema = { type: "object", additionalProperties: { type: "number" } };
const strings: Schema = { type: "object", additionalProperties: { type: "string" } };

/** An object schema: every property listed is required (the views always send them; absent values are null). */
function object(properties: Record<string, Schema>, description?: string): Schema {
  return { type: "object", ...(description ? { description } : {}), properties, required: Object.keys(properties) };
}

/** A `$ref` to one of {@linkcode responseSchemas}. */
export function ref(name: keyof typeof responseSchemas | "Error"): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

const agent = object({
  id: str,
  tenantId: str,
  pid: int,
  state: { type: "string", description: "Running, then Zombie once it ended" },
  reason: nullable("string", { description: "why it ended (exit, error, wall, cpu, memory, killed, ...)" }),
  exitCode: nullable("integer"),
  message: nullable("string"),
  result: { description: "what the agent's default export returned (JSON)" },
  usage: { ...nullable("object"), additionalProperties: { type: "number" } },
  capabilities: { type: "array", items: str },
  labels: { type: "object", additionalProperties: str, description: "the agent's labels (`?label=k=v` filters)" },
  limits: numbers,
  createdAt: time,
  endedAt: nullable("string", { format: "date-time" }),
}, "an agent's record");

const fileEntry = object({
  name: str,
  size: int,
  isDirectory: bool,
  mtime: nullable("string", { format: "date-time" }),
});

/**
 * The schemas of the answers, by component name.
 *
 * @example
 * ```ts
 * import { responseSchemas } from "./openapi_schemas.ts";
 * Object.keys(responseSchemas).includes("Agent"); // true
 * ```
 */
export const responseSchemas = {
  Agent: agent,
  AgentEnded: {
    allOf: [agent, object({ stdout: str, stderr: str })],
    description: "an ended agent's record with its captured output",
  },
  AgentAccepted: object({ id: str, state: str }),
  AgentPage: object({
    agents: { type: "array", items: { $ref: "#/components/schemas/Agent" } },
    next: nullable("string", { description: "the cursor of the next page (`?cursor=`), null on the last" }),
  }),
  AgentOutput: object({ id: str, stdout: str, stderr: str }),
  AgentKilled: object({ id: str, state: str, killed: bool }),
  PolicySet: { type: "object", properties: { id: str, tenantId: str, epoch: int }, required: ["epoch"] },
  Tenant: object({ id: str, name: str, admin: bool, quotas: numbers, createdAt: time }),
  TenantList: object({ tenants: { type: "array", items: { $ref: "#/components/schemas/Tenant" } } }),
  ApiKeyList: {
    type: "object",
    properties: { keys: { type: "array", items: { type: "object", additionalProperties: true } } },
    required: ["keys"],
  },
  ApiKeyRevoked: {
    type: "object",
    properties: { revoked: bool, key: { type: "object", additionalProperties: true } },
    required: ["revoked"],
  },
  TenantUsage: { type: "object", description: "the tenant's usage this UTC day", additionalProperties: true },
  TenantKey: {
    type: "object",
    description: "a tenant and its API key (shown once: store it now)",
    properties: { id: str, name: str, apiKey: str },
    required: ["id", "apiKey"],
  },
  Volume: object({
    name: str,
    quotaBytes: int,
    quotaFiles: int,
    usedBytes: int,
    usedFiles: int,
    createdAt: time,
    mounts: { type: "integer", description: "running agents that mount it now" },
  }),
  VolumeList: object({ volumes: { type: "array", items: { $ref: "#/components/schemas/Volume" } } }),
  Deleted: { type: "object", properties: { name: str, path: str, deleted: bool }, required: ["deleted"] },
  FileEntry: fileEntry,
  FileEntries: object({ entries: { type: "array", items: { $ref: "#/components/schemas/FileEntry" } } }),
  FileWritten: object({ path: str, size: { type: "integer", description: "bytes written" } }),
  Session: object({
    id: str,
    state: { type: "string", enum: ["open", "ended"] },
    reason: nullable("string"),
    labels: strings,
    agentId: nullable("string"),
    executionCount: int,
    restarts: int,
    createdAt: time,
    expiresAt: time,
    endedAt: nullable("string", { format: "date-time" }),
  }),
  SessionList: object({ sessions: { type: "array", items: { $ref: "#/components/schemas/Session" } } }),
  ExecResult: {
    type: "object",
    description: "one cell's answer",
    properties: {
      executionCount: int,
      result: { description: "the value of the cell's last expression as JSON (null when none)" },
      resultText: { type: "string", description: "the value as the REPL shows it" },
      stdout: str,
      stderr: str,
      outputTruncated: bool,
      error: { type: ["object", "null"], properties: { name: str, message: str } },
      interrupted: { type: ["string", "null"], enum: ["timeout", "interrupt", null] },
      stateLost: bool,
      durationMs: int,
    },
    required: ["executionCount", "stdout", "stderr", "error"],
  },
  Package: {
    type: "object",
    properties: { name: str, version: str, sha256: str, bytes: int },
    required: ["name", "version"],
  },
  PackageList: object({ packages: { type: "array", items: { $ref: "#/components/schemas/Package" } } }),
  AuditPage: object({ records: { type: "array", items: { $ref: "#/components/schemas/AuditRecord" } } }),
  AuditRecord: object({
    seq: { type: "integer", description: "increasing; pass the last one as `after` for the next page" },
    at: time,
    tenantId: nullable("string", { description: "the tenant it concerns (null: the server)" }),
    actor: { type: "string", description: "the tenant id of the key that acted, or `system`" },
    action: { type: "string", description: "tenant.created, key.issued, agent.spawned, denial, import, ..." },
    subject: nullable("string", { description: "the agent, key, package, ... it concerns" }),
    detail: { description: "the action's own fields (JSON)" },
  }, "one row of the append-only audit log"),
  Decision: {
    type: "object",
    description: "a policy decision: which layer decided, by which rule (null: the store, or no rule needed)",
    properties: {
      effect: { type: "string", enum: ["allow", "deny", "ask"] },
      ruleId: nullable("string", { description: "the deciding rule's id (or index), `default-deny`, ..." }),
      layer: { type: "string", enum: ["policy", "imports", "store"] },
      reason: { type: "string", enum: ["rule", "default", "rate", "invalid", "not_in_store"] },
      cacheable: { type: "boolean", description: "calls: may the kernel cache this decision" },
      message: { type: "string", description: "what refused it and what to do" },
      package: { type: "string", description: "imports: the stored package decided for, name@version" },
    },
    required: ["effect", "ruleId", "layer"],
  },
  SchedulerPolicy: object({ policy: { type: "string", enum: ["fair", "round-robin", "priority"] } }),
  Scheduler: object({
    policy: { type: "string", enum: ["fair", "round-robin", "priority"] },
    syscalls: object({
      policy: str,
      queued: int,
      inflight: int,
      served: { type: "integer", description: "jobs settled since the start" },
      failed: int,
      holds: { type: "integer", description: "times a tenant's cell reads were held by its share" },
      heldTenants: int,
      tenants: {
        type: "array",
        items: object({
          tenant: str,
          served: int,
          queued: int,
          inflight: int,
          vruntime: { type: "number" },
          agents: int,
        }),
      },
    }, "the syscall scheduler"),
    admission: object({
      policy: str,
      slots: int,
      admitted: int,
      waiting: int,
      tenants: { type: "array", items: object({ tenant: str, admitted: int, waiting: int }) },
    }, "the spawn admission queue"),
  }),
  Approval: object({
    id: str,
    agentId: nullable("string", { description: "the agent (null: a child agent, known by its pid)" }),
    pid: int,
    state: { type: "string", enum: ["pending", "allowed", "denied", "expired", "cancelled"] },
    call: { type: "string", description: "the syscall that waits (fs.writeText, net.fetch, ...)" },
    paths: { type: "array", items: str, description: "its workspace-relative paths" },
    host: nullable("string"),
    port: nullable("integer"),
    method: nullable("string"),
    ruleId: { type: "string", description: "the ask rule that matched" },
    createdAt: time,
    expiresAt: time,
    decidedAt: nullable("string", { format: "date-time" }),
    decidedBy: nullable("string", { description: "the deciding key's tenant id, or `system` (expired, ended)" }),
    note: nullable("string"),
  }, "a call waiting for (or decided by) a person"),
  ApprovalList: object({ approvals: { type: "array", items: { $ref: "#/components/schemas/Approval" } } }),
  Health: object({ ok: { type: "boolean", const: true } }),
  Ready: object({ ready: { type: "boolean", const: true } }),
  Ok: { type: "object", description: "a JSON object (see the summary)" },
} satisfies Record<string, Schema>;

/** The error body every 4xx and 5xx carries. */
export const errorSchema: Schema = object({
  error: {
    type: "object",
    properties: {
      code: { type: "string", description: "a stable code (not_found, validation_failed, ...)" },
      message: { type: "string", description: "what went wrong and what to do" },
      issues: { type: "array", items: { type: "object" }, description: "the validation issues (400)" },
    },
    required: ["code", "message"],
  },
});
