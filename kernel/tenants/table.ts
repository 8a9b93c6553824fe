/**
 * The tenant table: each tenant's quotas (pushed in by the API, like
 * policies are), its rates, and what it holds (through `TenantCounters`).
 * One table serves HTTP spawns, `proc.spawn` children and every syscall
 * frame, so a quota holds for the whole agent tree.
 *
 * Rate buckets of tenants are kept in a bounded map; only full buckets (a
 * tenant idle for a second or more) are ever forgotten, so a tenant cannot
 * reset its rates by churning agents.
 *
 * @module
 */

import { BoundedMap, TokenBucket } from "../../lib/mod.ts";
import { KernelError } from "../errno.ts";
import { serverInflightBytesMax, tenantsTrackedMax } from "../limits.ts";
import { LocalCounters, type TenantCounters, type TenantUsage } from "./counters.ts";
import { InflightAccount, type InflightCharges } from "./inflight.ts";
import { type TenantQuota, type TenantQuotas, tenantQuotasDefault } from "./quotas.ts";

/** A spawn refused by a tenant quota; `quota` names which one. */
export class QuotaError extends KernelError {
  /** @param quota the quota that refused, @param message what to tell the caller */
  constructor(readonly quota: TenantQuota, message: string) {
    super("EAGAIN", message);
    this.name = "QuotaError";
  }
}

/** One admitted agent's share of its tenant's quotas. Release is idempotent. */
export interface AgentSlot {
  readonly tenant: string;
  readonly rssMb: number;
  release(): void;
}

/** Table options. */
export interface TenantTableOptions {
  /** What tenants hold (default: in this process). */
  counters?: TenantCounters;
  /** Server-wide budget of bytes in flight (default {@linkcode serverInflightBytesMax}). */
  serverInflightBytesMax?: number;
  /** Monotonic clock, ms (injected by tests). */
  nowMs?: () => number;
}

/** Counters of the table. */
export interface TenantTableStats {
  tenants: number;
  inflightBytes: number;
  inflightBytesPeak: number;
  refused: Record<string, number>;
}

interface Rates {
  spawns: TokenBucket;
  syscalls: TokenBucket;
}

/** See the module doc. */
export class TenantTable {
  readonly #counters: TenantCounters;
  readonly #now: () => number;
  readonly #serverMax: number;
  #quotas = new Map<string, TenantQuotas>();
  #rates: BoundedMap<string, Rates>;
  #inflight = 0;
  #inflightPeak = 0;
  #refused = new Map<string, number>();

  /** @param options counters, server budget, clock */
  constructor(options: TenantTableOptions = {}) {
    this.#counters = options.counters ?? new LocalCounters();
    this.#now = options.nowMs ?? (() => performance.now());
    this.#serverMax = options.serverInflightBytesMax ?? serverInflightBytesMax;
    this.#rates = new BoundedMap({
      max: tenantsTrackedMax,
      ejectable: (_t, r) => r.spawns.full && r.syscalls.full,
    });
  }

  /** Set `tenant`'s quotas (missing fields keep their default); null goes back to the defaults. Held resources are kept. */
  setQuotas(tenant: string, quotas: Partial<TenantQuotas> | null): void {
    if (quotas === null) this.#quotas.delete(tenant);
    else this.#quotas.set(tenant, { ...tenantQuotasDefault, ...withoutUndefined(quotas) });
    const rates = this.#rates.peek(tenant);
    if (rates !== undefined) {
      const q = this.quotas(tenant);
      rates.spawns.setRate(q.spawnsPerSec);
      rates.syscalls.setRate(q.syscallsPerSec);
    }
  }

  /** The quotas in force for `tenant`. */
  quotas(tenant: string): Readonly<TenantQuotas> {
    return this.#quotas.get(tenant) ?? tenantQuotasDefault;
  }

  /**
   * Admit one more agent of `tenant` reserving `rssMb`: the concurrent-agent
   * quota, the RSS budget and the spawn rate, checked and taken at once.
   *
   * @throws {QuotaError} naming the quota that refused
   */
  admit(tenant: string, rssMb: number): AgentSlot {
    const q = this.quotas(tenant);
    const refused = this.#counters.admit(tenant, rssMb, q);
    if (refused === "agentsConcurrentMax") {
      this.#refuse(refused, `tenant at ${q.agentsConcurrentMax} concurrent agents (children included)`);
    }
    if (refused === "rssMbTotal") {
      this.#refuse(refused, `tenant RSS budget of ${q.rssMbTotal} MB in use (children included)`);
    }
    if (!this.#ratesOf(tenant).spawns.take()) {
      this.#counters.release(tenant, rssMb);
      this.#refuse("spawnsPerSec", `tenant over ${q.spawnsPerSec} spawns/s (children included)`);
    }
    let held = true;
    return {
      tenant,
      rssMb,
      release: () => {
        if (!held) return;
        held = false;
        this.#counters.release(tenant, rssMb);
      },
    };
  }

  /** Take `n` of `tenant`'s syscall tokens; false when the tenant is over its rate. */
  /** The table's clock, ms (every tenant bucket runs on it). */
  nowMs(): number {
    return this.#now();
  }

  takeSyscalls(tenant: string, n: number, nowMs: number = this.#now()): boolean {
    return this.#ratesOf(tenant).syscalls.take(n, nowMs);
  }

  /** A new account of bytes in flight for one agent of `tenant`, within `bytesMax`. */
  account(tenant: string, bytesMax: number): InflightAccount {
    return new InflightAccount(this.#charges(tenant), bytesMax);
  }

  /** What `tenant` holds now. */
  usage(tenant: string): TenantUsage {
    return this.#counters.usage(tenant);
  }

  /** Counters for metrics and tests. */
  stats(): TenantTableStats {
    return {
      tenants: this.#counters.busy(),
      inflightBytes: this.#inflight,
      inflightBytesPeak: this.#inflightPeak,
      refused: Object.fromEntries(this.#refused),
    };
  }

  /** @internal Count a refusal by name. */
  count(name: string): void {
    this.#refused.set(name, (this.#refused.get(name) ?? 0) + 1);
  }

  #charges(tenant: string): InflightCharges {
    return {
      charge: (n) => {
        const max = this.quotas(tenant).inflightBytesMax;
        if (this.#inflight + n > this.#serverMax) return `server's ${this.#serverMax} bytes in flight`;
        if (!this.#counters.charge(tenant, n, max)) return `tenant's ${max} bytes in flight`;
        this.#add(n);
        return null;
      },
      force: (n) => {
        this.#counters.force(tenant, n);
        this.#add(n);
      },
      uncharge: (n) => {
        this.#counters.uncharge(tenant, n);
        this.#inflight -= n;
      },
      refused: () => this.count("inflightBytes"),
    };
  }

  #add(n: number): void {
    this.#inflight += n;
    if (this.#inflight > this.#inflightPeak) this.#inflightPeak = this.#inflight;
  }

  #ratesOf(tenant: string): Rates {
    let rates = this.#rates.get(tenant);
    if (rates === undefined) {
      const q = this.quotas(tenant);
      rates = {
        spawns: new TokenBucket({ perSec: q.spawnsPerSec, nowMs: this.#now }),
        syscalls: new TokenBucket({ perSec: q.syscallsPerSec, nowMs: this.#now }),
      };
      if (!this.#rates.set(tenant, rates)) {
        throw new KernelError("EAGAIN", `more than ${tenantsTrackedMax} tenants are busy`);
      }
    }
    return rates;
  }

  #refuse(quota: TenantQuota, message: string): never {
    this.count(quota);
    throw new QuotaError(quota, message);
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
