/**
 * Tenancy and limits in the kernel: tenant-wide quotas (pushed in by the
 * API), the tenant table that enforces them for every agent of a tenant,
 * children included, and the limit enforcer the dispatcher and runtime ask.
 *
 * @module
 */

export { LocalCounters, type TenantCounters, type TenantUsage } from "./counters.ts";
export { KernelEnforcer, type LimitEnforcer, type LimitRefusal, NullEnforcer } from "./enforcer.ts";
export { InflightAccount, type InflightCharges } from "./inflight.ts";
export { type TenantQuota, type TenantQuotas, tenantQuotasDefault, tenantQuotasMax } from "./quotas.ts";
export { type AgentSlot, QuotaError, TenantTable, type TenantTableOptions, type TenantTableStats } from "./table.ts";
