/**
 * What each tenant holds right now, behind a small interface: the
 * in-process implementation is the embedded default; a cluster backend
 * (shared counters) implements the same calls.
 *
 * Every call is synchronous and checks and charges at once, so concurrent
 * requests can never pass a quota together.
 *
 * @module
 */

import type { TenantQuota, TenantQuotas } from "./quotas.ts";

/** What one tenant holds. */
export interface TenantUsage {
  agents: number;
  rssMb: number;
  inflightBytes: number;
}

/** The tenant-wide counters the kernel checks and charges. */
export interface TenantCounters {
  /** Count one more agent reserving `rssMb`, or name the quota that refuses. */
  admit(tenant: string, rssMb: number, quotas: Readonly<TenantQuotas>): TenantQuota | null;
  /** Give back an admitted agent. */
  release(tenant: string, rssMb: number): void;
  /** Charge `bytes` in flight within `max`; false (nothing charged) when it does not fit. */
  charge(tenant: string, bytes: number, max: number): boolean;
  /** Charge `bytes` in flight whatever the quota (an answer that already exists). */
  force(tenant: string, bytes: number): void;
  /** Give back `bytes` charged before. */
  uncharge(tenant: string, bytes: number): void;
  /** What `tenant` holds now. */
  usage(tenant: string): TenantUsage;
  /** Tenants holding anything. */
  busy(): number;
}

/** The embedded default: counters in this process. Idle tenants are forgotten at once. */
export class LocalCounters implements TenantCounters {
  #held = new Map<string, TenantUsage>();

  admit(tenant: string, rssMb: number, quotas: Readonly<TenantQuotas>): TenantQuota | null {
    const held = this.#get(tenant);
    if (held.agents >= quotas.agentsConcurrentMax) return "agentsConcurrentMax";
    if (held.rssMb + rssMb > quotas.rssMbTotal) return "rssMbTotal";
    held.agents++;
    held.rssMb += rssMb;
    this.#held.set(tenant, held);
    return null;
  }

  release(tenant: string, rssMb: number): void {
    const held = this.#get(tenant);
    held.agents--;
    held.rssMb -= rssMb;
    this.#dropIfIdle(tenant, held);
  }

  charge(tenant: string, bytes: number, max: number): boolean {
    const held = this.#get(tenant);
    if (held.inflightBytes + bytes > max) return false;
    held.inflightBytes += bytes;
    this.#held.set(tenant, held);
    return true;
  }

  force(tenant: string, bytes: number): void {
    const held = this.#get(tenant);
    held.inflightBytes += bytes;
    this.#held.set(tenant, held);
  }

  uncharge(tenant: string, bytes: number): void {
    const held = this.#get(tenant);
    held.inflightBytes -= bytes;
    this.#dropIfIdle(tenant, held);
  }

  usage(tenant: string): TenantUsage {
    return { ...this.#get(tenant) };
  }

  busy(): number {
    return this.#held.size;
  }

  #get(tenant: string): TenantUsage {
    return this.#held.get(tenant) ?? { agents: 0, rssMb: 0, inflightBytes: 0 };
  }

  #dropIfIdle(tenant: string, held: TenantUsage): void {
    if (held.agents === 0 && held.rssMb === 0 && held.inflightBytes === 0) this.#held.delete(tenant);
    else this.#held.set(tenant, held);
  }
}
