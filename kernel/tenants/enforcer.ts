/**
 * The limit enforcer: the one interface the dispatcher and the runtime ask
 * about limits (imitating workerd's `LimitEnforcer`). `KernelEnforcer`
 * enforces the per-agent rate, the tenant table's quotas and the
 * bytes-in-flight budgets; `NullEnforcer` allows everything (for tests of
 * other parts and for measuring the enforcer's own cost).
 *
 * Per-agent state is keyed by the process row itself (a `WeakMap`), never
 * by a pid: a recycled pid starts with a fresh bucket.
 *
 * @module
 */

import { TokenBucket } from "../../lib/mod.ts";
import type { Errno } from "../errno.ts";
import { agentInflightBytesMax } from "../limits.ts";
import type { Process } from "../process/mod.ts";
import { InflightAccount } from "./inflight.ts";
import { type AgentSlot, TenantTable } from "./table.ts";

/** Why a call was refused by a limit. */
export interface LimitRefusal {
  errno: Errno;
  /** `rate` for the agent's own rate, `quota` for the tenant's. */
  layer: "rate" | "quota";
  message: string;
}

/** What the kernel asks about limits. */
export interface LimitEnforcer {
  /** One frame of `proc` costing `cost` tokens: the agent's rate, then its tenant's. */
  admitCall(proc: Process, cost: number): LimitRefusal | null;
  /**
   * Admit one more agent of `tenant` reserving `rssMb`.
   *
   * @throws {QuotaError} naming the tenant quota that refused
   */
  admitAgent(tenant: string, rssMb: number): AgentSlot;
  /** The bytes-in-flight account of `proc` (made on first use). */
  account(proc: Process): InflightAccount;
}

/** See the module doc. */
export class KernelEnforcer implements LimitEnforcer {
  readonly tenants: TenantTable;
  #buckets = new WeakMap<Process, TokenBucket>();
  #accounts = new WeakMap<Process, InflightAccount>();
  readonly #perTurn: boolean;
  /** This microtask turn's clock reading (NaN: none yet), with `clockPerTurn`. */
  #turnMs = NaN;
  readonly #endTurn = () => {
    this.#turnMs = NaN;
  };

  /**
   * @param tenants the tenant table (default: a fresh one); its clock is the clock of every bucket here
   * @param options `clockPerTurn`: read that clock at most once per microtask turn (the calls of a batch
   *   slice are admitted at one instant; a read costs more than the buckets' arithmetic). Off by default, so a
   *   caller that moves a fake clock between two calls of one turn sees it move.
   */
  constructor(tenants: TenantTable = new TenantTable(), options: { clockPerTurn?: boolean } = {}) {
    this.tenants = tenants;
    this.#perTurn = options.clockPerTurn ?? false;
  }

  admitCall(proc: Process, cost: number): LimitRefusal | null {
    const tenants = this.tenants;
    let bucket = this.#buckets.get(proc);
    if (bucket === undefined) {
      const nowMs = () => tenants.nowMs();
      this.#buckets.set(proc, bucket = new TokenBucket({ perSec: proc.limits.syscallsPerSec, nowMs }));
    }
    // One clock read for both buckets (or per turn): the clock costs more than the arithmetic.
    const now = this.#perTurn ? this.#turnClock() : tenants.nowMs();
    if (!bucket.take(cost, now)) {
      return { errno: "EAGAIN", layer: "rate", message: `over ${proc.limits.syscallsPerSec} syscalls/s` };
    }
    if (!tenants.takeSyscalls(proc.tenant, cost, now)) {
      return { errno: "EAGAIN", layer: "quota", message: "tenant syscall rate exceeded" };
    }
    return null;
  }

  admitAgent(tenant: string, rssMb: number): AgentSlot {
    return this.tenants.admit(tenant, rssMb);
  }

  #turnClock(): number {
    const cached = this.#turnMs;
    if (cached === cached) return cached; // not NaN: read in this turn already
    const now = this.tenants.nowMs();
    this.#turnMs = now;
    queueMicrotask(this.#endTurn);
    return now;
  }

  account(proc: Process): InflightAccount {
    let account = this.#accounts.get(proc);
    if (account === undefined) {
      this.#accounts.set(proc, account = this.tenants.account(proc.tenant, agentInflightBytesMax));
    }
    return account;
  }
}

/** Allows everything: no rate, no quota, unlimited accounts. */
export class NullEnforcer implements LimitEnforcer {
  admitCall(): LimitRefusal | null {
    return null;
  }

  admitAgent(tenant: string, rssMb: number): AgentSlot {
    return { tenant, rssMb, release: () => {} };
  }

  account(): InflightAccount {
    return new InflightAccount(
      { charge: () => null, force: () => {}, uncharge: () => {}, refused: () => {} },
      Infinity,
    );
  }
}
