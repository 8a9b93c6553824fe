/**
 * Bytes in flight of one agent: requests and results the supervisor holds
 * for it. Every charge is also a charge of its tenant and of the server
 * (through `InflightCharges`); `held` never exceeds `bytesMax` except by
 * `force` (answers that already exist).
 *
 * @module
 */

import { KernelError } from "../errno.ts";

/** The tenant- and server-wide side of an account. */
export interface InflightCharges {
  /** Charge `n`, or name the budget that is full. */
  charge(n: number): string | null;
  /** Charge `n` whatever the budgets say. */
  force(n: number): void;
  /** Give `n` back. */
  uncharge(n: number): void;
  /** Count a refusal. */
  refused(): void;
}

/** See the module doc. */
export class InflightAccount {
  readonly bytesMax: number;
  #charges: InflightCharges;
  #held = 0;
  #peak = 0;

  /** @param charges the tenant and server side, @param bytesMax the agent's budget */
  constructor(charges: InflightCharges, bytesMax: number) {
    this.#charges = charges;
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
      this.#charges.refused();
      throw new KernelError("E2BIG", `needs ${n} bytes in flight, over the agent's budget of ${this.bytesMax}`);
    }
    let full = this.#held + n > this.bytesMax ? `agent's ${this.bytesMax} bytes in flight` : null;
    full ??= this.#charges.charge(n);
    if (full !== null) {
      this.#charges.refused();
      throw new KernelError("EAGAIN", `over the ${full}; retry when earlier calls have been answered`);
    }
    this.#add(n);
  }

  /**
   * Charge `n` bytes that are already spent (an answer that exists), past
   * any budget: callers refuse new work while `held >= bytesMax`, so this
   * overshoots by at most what is already in flight.
   */
  force(n: number): void {
    if (n <= 0) return;
    this.#charges.force(n);
    this.#add(n);
  }

  /** Give back `n` bytes of earlier reservations. */
  release(n: number): void {
    if (n <= 0) return;
    if (n > this.#held) throw new Error(`inflight: release of ${n} bytes with ${this.#held} held`);
    this.#held -= n;
    this.#charges.uncharge(n);
  }

  #add(n: number): void {
    this.#held += n;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }
}
