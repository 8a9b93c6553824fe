/**
 * Tenancy in the kernel: tenant-wide quotas and the ledger that enforces
 * them for every agent of a tenant, children included.
 *
 * @module
 */

export {
  type AgentSlot,
  InflightAccount,
  type LedgerOptions,
  type LedgerStats,
  QuotaError,
  TenantLedger,
} from "./ledger.ts";
export { type TenantQuota, type TenantQuotas, tenantQuotasDefault, tenantQuotasMax } from "./quotas.ts";
export { TokenBucket } from "./token_bucket.ts";
