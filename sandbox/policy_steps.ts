/**
 * The policy layer's step budgets: how many matcher steps an agent and its
 * tenant may spend per second (`policyStepsPerAgentPerSecMax`,
 * `policyStepsPerTenantPerSecMax`), as refilling accounts kept per key and
 * bounded in number (`stepAccountsMax`: a full table first drops the
 * accounts that refilled completely, which equal fresh ones).
 *
 * @module
 */

import type { Errno } from "../kernel/mod.ts";
import { policyStepsPerAgentPerSecMax, policyStepsPerTenantPerSecMax, stepAccountsMax } from "./limits.ts";

/** A step bucket. */
export interface StepAccount {
  steps: number;
  atMs: number;
}

/** Refilling step accounts by key (a pid, a tenant). */
export class StepAccounts<K> {
  #accounts = new Map<K, StepAccount>();
  #perSec: number;

  /** @param perSec steps per second each account refills with (and holds at most) */
  constructor(perSec: number) {
    this.#perSec = perSec;
  }

  /** The refilled account of `key` at `now` (ms). */
  of(key: K, now: number): StepAccount {
    const perSec = this.#perSec;
    let account = this.#accounts.get(key);
    if (account === undefined) {
      if (this.#accounts.size >= stepAccountsMax) this.#sweep(now);
      this.#accounts.set(key, account = { steps: perSec, atMs: now });
      return account;
    }
    if (now > account.atMs) {
      account.steps = Math.min(perSec, account.steps + ((now - account.atMs) * perSec) / 1000);
      account.atMs = now;
    }
    return account;
  }

  /** Forget `key` (its agent ended). */
  delete(key: K): void {
    this.#accounts.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, account] of this.#accounts) {
      if (account.steps + ((now - account.atMs) * this.#perSec) / 1000 >= this.#perSec) this.#accounts.delete(key);
    }
  }
}

/** The `EAGAIN` of an evaluation the agent's (or else its tenant's) budget cannot pay for. */
export function overBudget(agent: boolean): { errno: Errno; message: string } {
  const which = agent
    ? `this agent's policy step budget (policyStepsPerAgentPerSecMax = ${policyStepsPerAgentPerSecMax}/s)`
    : `its tenant's policy step budget (policyStepsPerTenantPerSecMax = ${policyStepsPerTenantPerSecMax}/s)`;
  return { errno: "EAGAIN", message: `policy evaluation over ${which}; retry later` };
}
