/**
 * The shapes of the store's records (tenants, agents, audit rows) and of
 * what a retention batch deleted: plain types, shared by the store and the
 * services that read it.
 *
 * @module
 */

/** Per-tenant quotas; every field is optional and has a server default. */
export interface Quotas {
  agentsConcurrentMax?: number;
  spawnsPerSec?: number;
  rssMbTotal?: number;
  syscallsPerSec?: number;
  /** Bytes of syscall requests and results the supervisor may hold for the tenant. */
  inflightBytesMax?: number;
  /** Kernel arena bytes (IPC) the tenant may hold. */
  arenaBytesMax?: number;
  diskBytes?: number;
  /** Ceilings for per-agent limits. */
  heapMb?: number;
  rssMb?: number;
  wallMs?: number;
  cpuMs?: number;
  outputBytes?: number;
}

/** A tenant row. */
export interface TenantRow {
  id: string;
  name: string;
  admin: boolean;
  quotas: Quotas;
  createdAt: string;
}

/** An agent record. */
export interface AgentRow {
  id: string;
  tenantId: string;
  pid: number;
  state: string;
  reason: string | null;
  exitCode: number | null;
  message: string | null;
  result: unknown;
  usage: Record<string, number> | null;
  stdout: string;
  stderr: string;
  capabilities: string[];
  limits: Record<string, number>;
  /** Set at spawn or by `PATCH /v1/agents/:id`; `?label=k=v` filters the list. */
  labels: Record<string, string>;
  createdAt: string;
  endedAt: string | null;
}

/** An audit record. */
export interface AuditRow {
  seq: number;
  at: string;
  tenantId: string | null;
  actor: string;
  action: string;
  subject: string | null;
  detail: unknown;
}

/** A row as node:sqlite returns it. */
export type Row = Record<string, string | number | null>;

/** What one retention batch deleted of the agent records. */
export interface PrunedAgents {
  records: number;
  /** Stored trace events deleted with them. */
  traceEvents: number;
  /** End time of the first record deleted (ISO). */
  endedFrom: string;
  /** End time of the last record deleted (ISO). */
  endedTo: string;
}

/** What one retention batch deleted of the audit log. */
export interface PrunedAudit {
  rows: number;
  fromSeq: number;
  toSeq: number;
  fromAt: string;
  toAt: string;
}

/** A `tenants` row as a record. */
export function toTenant(r: Row): TenantRow {
  return {
    id: String(r.id),
    name: String(r.name),
    admin: r.admin === 1,
    quotas: JSON.parse(String(r.quotas)),
    createdAt: String(r.created_at),
  };
}

/** An `agents` row as a record. */
export function toAgent(r: Row): AgentRow {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    pid: Number(r.pid),
    state: String(r.state),
    reason: r.reason === null ? null : String(r.reason),
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    message: r.message === null ? null : String(r.message),
    result: r.result === null ? null : JSON.parse(String(r.result)),
    usage: r.usage === null ? null : JSON.parse(String(r.usage)),
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    capabilities: JSON.parse(String(r.capabilities)),
    limits: JSON.parse(String(r.limits)),
    labels: r.labels === undefined || r.labels === null ? {} : JSON.parse(String(r.labels)),
    createdAt: String(r.created_at),
    endedAt: r.ended_at === null ? null : String(r.ended_at),
  };
}
