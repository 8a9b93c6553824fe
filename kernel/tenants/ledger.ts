/**
 * The tenant ledger: what each tenant holds right now, checked and charged
 * synchronously so that concurrent requests can never pass a quota
 * together. One ledger serves HTTP spawns, `proc.spawn` children and every
 * syscall frame, so a quota holds for the whole agent tree.
 *
 * - **Agent slots** (`admit`): concurrent agents, the sum of their `rssMb`
 *   and the spawn rate. A slot is held from admission until the agent's
 *   last resource is released.
 * - **Syscall rate** (`takeSyscalls`): one token bucket per tenant.
 * - **Bytes in flight** (`account`): requests and results the supervisor
 *   holds for an agent, charged against the agent's, its tenant's and the
 *   server's budget at once; over any of them is `EAGAIN` (or `E2BIG` when
 *   one charge is larger than the agent's whole budget), never growth.
 *
 * Tenant records are kept in a bounded map; only idle ones (no agent, no
 * bytes in flight) are ever evicted, oldest first, and only when the map is
 * full — so a tenant cannot reset its buckets by churning agents.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import { agentInflightBytesMax, serverInflightBytesMax, tenantsTrackedMax } from "../limits.ts";
import { type TenantQuota, type TenantQuotas, tenantQuotasDefault } from "./quotas.ts";
import { TokenBucket } from "./token_bucket.ts";

/** A spawn refused by a tenant quota; `quota` names which one. */
export class QuotaError extends KernelError {
  /** @param quota the quota that refused, @param message what to tell the caller */
  constructor(readonly quota: TenantQuota, message: string) {
    super("EAGAIN", message);
    this.name = "QuotaError";
  }
}

interface TenantState {
  readonly id: string;
  quotas: TenantQuotas;
  agents: number;
  rssMb: number;
  inflightBytes: number;
  readonly spawns: TokenBucket;
  readonly syscalls: TokenBucket;
}

/** One admitted agent's share of its tenant's quotas. Release is idempotent. */
export interface AgentSlot {
  readonly tenant: string;
  readonly rssMb: number;
  release(): void;
}

/** Ledger options. */
export interface LedgerOptions {
  /** The quotas of a tenant (asked once, then cached until {@linkcode TenantLedger.refresh}). */
  quotas?: (tenant: string) => TenantQuotas;
  /** Server-wide budget of bytes in flight (default {@linkcode serverInflightBytesMax}). */
  serverInflightBytesMax?: number;
  /** Monotonic clock, ms (injected by tests). */
  nowMs?: () => number;
}

/** Counters of the ledger. */
export interface LedgerStats {
  tenants: number;
  inflightBytes: number;
  inflightBytesPeak: number;
  refused: Record<string, number>;
}

/** See the module doc. */
export class TenantLedger {
  readonly #quotas: (tenant: string) => TenantQuotas;
  readonly #now: () => number;
  readonly #serverMax: number;
  #tenants = new Map<string, TenantState>();
  #inflight = 0;
  #inflightPeak = 0;
  #refused = new Map<string, number>();

  /** @param options quota source, server budget, clock */
  constructor(options: LedgerOptions = {}) {
    this.#quotas = options.quotas ?? (() => tenantQuotasDefault);
    this.#now = options.nowMs ?? (() => performance.now());
    this.#serverMax = options.serverInflightBytesMax ?? serverInflightBytesMax;
  }

  /** The quotas in force for `tenant`. */
  quotas(tenant: string): Readonly<TenantQuotas> {
    return this.#state(tenant).quotas;
  }

  /** Re-read `tenant`'s quotas (after an admin changed them). Held resources are kept. */
  refresh(tenant: string): void {
    const state = this.#tenants.get(tenant);
    if (state !== undefined) state.quotas = { ...tenantQuotasDefault, ...this.#quotas(tenant) };
  }

  /**
   * Admit one more agent of `tenant` reserving `rssMb`: checks the
   * concurrent-agent quota, the RSS budget and the spawn rate, in that
   * order, and takes all three at once.
   *
   * @throws {QuotaError} naming the quota that refused
   */
  admit(tenant: string, rssMb: number): AgentSlot {
    const state = this.#state(tenant);
    const q = state.quotas;
    if (state.agents >= q.agentsConcurrentMax) {
      this.#refuse("agentsConcurrentMax", `tenant at ${q.agentsConcurrentMax} concurrent agents (children included)`);
    }
    if (state.rssMb + rssMb > q.rssMbTotal) {
      this.#refuse("rssMbTotal", `tenant RSS budget of ${q.rssMbTotal} MB in use (children included)`);
    }
    if (!state.spawns.take(1, this.#now(), q.spawnsPerSec)) {
      this.#refuse("spawnsPerSec", `tenant over ${q.spawnsPerSec} spawns/s (children included)`);
    }
    state.agents++;
    state.rssMb += rssMb;
    let held = true;
    return {
      tenant,
      rssMb,
      release: () => {
        if (!held) return;
        held = false;
        state.agents--;
        state.rssMb -= rssMb;
      },
    };
  }

  /** Take `n` of `tenant`'s syscall tokens; false when the tenant is over its rate. */
  takeSyscalls(tenant: string, n: number): boolean {
    const state = this.#state(tenant);
    return state.syscalls.take(n, this.#now(), state.quotas.syscallsPerSec);
  }

  /** A new account of bytes in flight for one agent of `tenant`. */
  account(tenant: string, bytesMax: number = agentInflightBytesMax): InflightAccount {
    return new InflightAccount(this, this.#state(tenant), bytesMax);
  }

  /** What `tenant` holds now. */
  usage(tenant: string): { agents: number; rssMb: number; inflightBytes: number } {
    const state = this.#tenants.get(tenant);
    return state === undefined
      ? { agents: 0, rssMb: 0, inflightBytes: 0 }
      : { agents: state.agents, rssMb: state.rssMb, inflightBytes: state.inflightBytes };
  }

  /** Counters for metrics and tests. */
  stats(): LedgerStats {
    return {
      tenants: this.#tenants.size,
      inflightBytes: this.#inflight,
      inflightBytesPeak: this.#inflightPeak,
      refused: Object.fromEntries(this.#refused),
    };
  }

  /** @internal Charge `n` bytes to the tenant and the server, or say which budget is full. */
  charge(state: TenantState, n: number): string | null {
    if (state.inflightBytes + n > state.quotas.inflightBytesMax) {
      return `tenant's ${state.quotas.inflightBytesMax} bytes in flight`;
    }
    if (this.#inflight + n > this.#serverMax) return `server's ${this.#serverMax} bytes in flight`;
    state.inflightBytes += n;
    this.#inflight += n;
    if (this.#inflight > this.#inflightPeak) this.#inflightPeak = this.#inflight;
    return null;
  }

  /** @internal Charge `n` bytes whatever the budgets say (see `InflightAccount.force`). */
  forceCharge(state: TenantState, n: number): void {
    state.inflightBytes += n;
    this.#inflight += n;
    if (this.#inflight > this.#inflightPeak) this.#inflightPeak = this.#inflight;
  }

  /** @internal Give back `n` bytes charged with {@linkcode charge}. */
  uncharge(state: TenantState, n: number): void {
    state.inflightBytes -= n;
    this.#inflight -= n;
  }

  /** @internal Count a refusal by name. */
  count(name: string): void {
    this.#refused.set(name, (this.#refused.get(name) ?? 0) + 1);
  }

  #refuse(quota: TenantQuota, message: string): never {
    this.count(quota);
    throw new QuotaError(quota, message);
  }

  #state(tenant: string): TenantState {
    let state = this.#tenants.get(tenant);
    if (state !== undefined) return state;
    if (this.#tenants.size >= tenantsTrackedMax) this.#evictIdle();
    state = {
      id: tenant,
      quotas: { ...tenantQuotasDefault, ...this.#quotas(tenant) },
      agents: 0,
      rssMb: 0,
      inflightBytes: 0,
      spawns: new TokenBucket(),
      syscalls: new TokenBucket(),
    };
    this.#tenants.set(tenant, state);
    return state;
  }

  #evictIdle(): void {
    for (const [id, state] of this.#tenants) {
      if (state.agents === 0 && state.inflightBytes === 0) {
        this.#tenants.delete(id);
        return;
      }
    }
    throw new KernelError("EAGAIN", `more than ${tenantsTrackedMax} tenants hold resources`);
  }
}

/**
 * Bytes in flight of one agent: every charge is also a charge of its
 * tenant and of the server. `held` never exceeds `bytesMax`.
 */
export class InflightAccount {
  readonly bytesMax: number;
  #ledger: TenantLedger;
  #tenant: TenantState;
  #held = 0;
  #peak = 0;

  /** @internal use {@linkcode TenantLedger.account} */
  constructor(ledger: TenantLedger, tenant: TenantState, bytesMax: number) {
    this.#ledger = ledger;
    this.#tenant = tenant;
    this.bytesMax = bytesMax;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Most bytes ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /**
   * Charge `n` bytes against the agent, its tenant and the server.
   *
   * @throws {KernelError} `E2BIG` if `n` alone is over the agent's budget,
   * `EAGAIN` naming the full budget otherwise
   */
  reserve(n: number): void {
    if (n > this.bytesMax) {
      this.#ledger.count("inflightBytes");
      throw new KernelError("E2BIG", `needs ${n} bytes in flight, over the agent's budget of ${this.bytesMax}`);
    }
    let full = this.#held + n > this.bytesMax ? `agent's ${this.bytesMax} bytes in flight` : null;
    full ??= this.#ledger.charge(this.#tenant, n);
    if (full !== null) {
      this.#ledger.count("inflightBytes");
      throw new KernelError("EAGAIN", `over the ${full}; retry when earlier calls have been answered`);
    }
    this.#held += n;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }

  /**
   * Charge `n` bytes that are already spent (an answer that exists), past
   * any budget: callers refuse new work while `held >= bytesMax`, so this
   * overshoots by at most what is already in flight.
   */
  force(n: number): void {
    if (n <= 0) return;
    this.#ledger.forceCharge(this.#tenant, n);
    this.#held += n;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }

  /** Give back `n` bytes of earlier reservations. */
  release(n: number): void {
    if (n <= 0) return;
    if (n > this.#held) throw new Error(`inflight: release of ${n} bytes with ${this.#held} held`);
    this.#held -= n;
    this.#ledger.uncharge(this.#tenant, n);
  }
}
