/**
 * Tenant-wide quotas: what all agents of one tenant may hold together,
 * children included. The kernel enforces them on every spawn (HTTP or
 * `proc.spawn`) and every syscall; an admin sets them per tenant.
 *
 * @module
 */

/** Tenant-wide quotas (every field has its unit last). */
export interface TenantQuotas {
  /** Live agents at once: API agents and every child they spawn. */
  agentsConcurrentMax: number;
  /** Agent starts per second (token bucket, burst = one second's worth). */
  spawnsPerSec: number;
  /** Sum of the `rssMb` limits of the tenant's live agents, MB. */
  rssMbTotal: number;
  /** Syscalls per second across the tenant's agents; every frame costs at least one. */
  syscallsPerSec: number;
  /** Bytes of syscall requests and results the supervisor holds for the tenant at once. */
  inflightBytesMax: number;
  /** Kernel arena bytes (pipe buffers, queued messages, shared memory) the tenant may hold. */
  arenaBytesMax: number;
}

/** Quotas of a tenant that an admin did not set otherwise. */
export const tenantQuotasDefault: Readonly<TenantQuotas> = Object.freeze({
  agentsConcurrentMax: 32,
  spawnsPerSec: 50,
  rssMbTotal: 16_384,
  syscallsPerSec: 500_000,
  inflightBytesMax: 256 * 1024 * 1024,
  arenaBytesMax: 16 * 1024 * 1024,
});

/** Highest value an admin may set for each quota. */
export const tenantQuotasMax: Readonly<TenantQuotas> = Object.freeze({
  agentsConcurrentMax: 10_000,
  spawnsPerSec: 10_000,
  rssMbTotal: 1_000_000,
  syscallsPerSec: 10_000_000,
  inflightBytesMax: 4 * 1024 * 1024 * 1024,
  arenaBytesMax: 4 * 1024 * 1024 * 1024,
});

/** The names of the quotas, for messages and errors. */
export type TenantQuota = keyof TenantQuotas;
