/**
 * Admission of spawn requests when the server's concurrency limit is
 * reached: requests wait (bounded) instead of failing, and freed slots go to
 * waiting tenants by policy:
 * - `"fair"`: the waiting tenant with the fewest admitted requests, then the
 *   one waiting longest; FIFO within a tenant;
 * - `"round-robin"`: rotate waiting tenants; FIFO within a tenant;
 * - `"priority"`: the lowest priority number over all waiters, FIFO among
 *   equals (lower priorities starve while higher ones wait).
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import { assertSchedPolicy, type SchedPolicy, schedPolicyDefault } from "./policy.ts";
import { assertPriority } from "./weight.ts";

/** Returns an admitted request's slot; calling it again does nothing. */
export type Release = () => void;

/** `AdmissionQueue` options. */
export interface AdmissionQueueOptions {
  /** Requests admitted at once. */
  slots: number;
  /** Requests waiting at once; beyond it `acquire` rejects `EAGAIN`. */
  queueMax: number;
  /** Initial policy (default `"fair"`). */
  policy?: SchedPolicy;
}

/** One tenant in `AdmissionStats`. */
export interface AdmissionTenantStats {
  tenant: string;
  admitted: number;
  waiting: number;
}

/** A snapshot of the admission queue. */
export interface AdmissionStats {
  policy: SchedPolicy;
  slots: number;
  admitted: number;
  waiting: number;
  tenants: AdmissionTenantStats[];
}

interface Waiter {
  readonly tenant: TenantSlots;
  readonly priority: number;
  readonly seq: number;
  readonly resolve: (release: Release) => void;
  readonly reject: (error: KernelError) => void;
  readonly detach: () => void;
}

interface TenantSlots {
  readonly name: string;
  admitted: number;
  readonly waiters: Waiter[];
}

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * A counting semaphore with a bounded, tenant-fair wait queue.
 *
 * @example
 * ```ts
 * const admission = new AdmissionQueue({ slots: 64, queueMax: 1024 });
 * const release = await admission.acquire("acme", 20, request.signal); // EAGAIN / ECANCELED
 * try { await runAgent(); } finally { release(); }
 * ```
 */
export class AdmissionQueue {
  #policy: SchedPolicy;
  #slots: number;
  readonly #queueMax: number;
  readonly #tenants = new Map<string, TenantSlots>();
  /** Tenants with waiters, in round-robin rotation order. */
  readonly #waiting = new Map<string, TenantSlots>();
  #admitted = 0;
  #waiters = 0;
  #seq = 0;

  /** @param options see `AdmissionQueueOptions` */
  constructor(options: AdmissionQueueOptions) {
    assertCount("slots", options.slots, 0);
    assertCount("queueMax", options.queueMax, 0);
    const policy = options.policy ?? schedPolicyDefault;
    assertSchedPolicy(policy);
    this.#policy = policy;
    this.#slots = options.slots;
    this.#queueMax = options.queueMax;
  }

  /**
   * Wait for a slot. Resolves at once if one is free and nobody waits.
   *
   * @throws {KernelError} `EAGAIN` if `queueMax` requests already wait,
   *   `ECANCELED` if `signal` aborts before admission
   */
  acquire(tenant: string, priority: number, signal?: AbortSignal): Promise<Release> {
    assertPriority(priority);
    if (signal?.aborted) return Promise.reject(new KernelError("ECANCELED", "spawn canceled while queued"));
    const slots = this.#tenantFor(tenant);
    if (this.#waiters === 0 && this.#admitted < this.#slots) return Promise.resolve(this.#admit(slots));
    if (this.#waiters >= this.#queueMax) {
      this.#dropIfIdle(slots);
      return Promise.reject(new KernelError("EAGAIN", "admission queue full"));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        this.#unlink(waiter);
        reject(new KernelError("ECANCELED", "spawn canceled while queued"));
      };
      const detach = () => signal?.removeEventListener("abort", onAbort);
      const waiter: Waiter = { tenant: slots, priority, seq: this.#seq++, resolve, reject, detach };
      signal?.addEventListener("abort", onAbort, { once: true });
      slots.waiters.push(waiter);
      this.#waiters++;
      this.#waiting.set(slots.name, slots);
    });
  }

  /** Switch policy; waiting requests are kept. */
  setPolicy(policy: SchedPolicy): void {
    assertSchedPolicy(policy);
    this.#policy = policy;
  }

  /** Change the number of slots; admitted requests keep theirs, new waiters are admitted if it grew. */
  setSlots(slots: number): void {
    assertCount("slots", slots, 0);
    this.#slots = slots;
    this.#drain();
  }

  /** Slots, admitted and waiting counts, per tenant too. */
  stats(): AdmissionStats {
    return {
      policy: this.#policy,
      slots: this.#slots,
      admitted: this.#admitted,
      waiting: this.#waiters,
      tenants: [...this.#tenants.values()].map((t) => ({
        tenant: t.name,
        admitted: t.admitted,
        waiting: t.waiters.length,
      })),
    };
  }

  #tenantFor(name: string): TenantSlots {
    let slots = this.#tenants.get(name);
    if (slots === undefined) {
      slots = { name, admitted: 0, waiters: [] };
      this.#tenants.set(name, slots);
    }
    return slots;
  }

  #admit(tenant: TenantSlots): Release {
    tenant.admitted++;
    this.#admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      tenant.admitted--;
      this.#admitted--;
      this.#dropIfIdle(tenant);
      this.#drain();
    };
  }

  #drain(): void {
    while (this.#admitted < this.#slots && this.#waiters > 0) {
      const waiter = this.#pick();
      this.#unlink(waiter);
      waiter.detach();
      waiter.resolve(this.#admit(waiter.tenant));
    }
  }

  #pick(): Waiter {
    let best: Waiter | null = null;
    switch (this.#policy) {
      case "fair":
        for (const t of this.#waiting.values()) {
          const head = t.waiters[0];
          if (
            best === null || t.admitted < best.tenant.admitted ||
            (t.admitted === best.tenant.admitted && head.seq < best.seq)
          ) best = head;
        }
        break;
      case "round-robin":
        best = this.#waiting.values().next().value!.waiters[0];
        break;
      case "priority":
        for (const t of this.#waiting.values()) {
          for (const w of t.waiters) {
            if (best === null || w.priority < best.priority || (w.priority === best.priority && w.seq < best.seq)) {
              best = w;
            }
          }
        }
        break;
    }
    return best!;
  }

  /** Take `waiter` out of the queue (and its tenant to the back of the rotation). */
  #unlink(waiter: Waiter): void {
    const tenant = waiter.tenant;
    const at = tenant.waiters.indexOf(waiter);
    if (at < 0) return;
    tenant.waiters.splice(at, 1);
    this.#waiters--;
    this.#waiting.delete(tenant.name);
    if (tenant.waiters.length > 0) this.#waiting.set(tenant.name, tenant);
    this.#dropIfIdle(tenant);
  }

  #dropIfIdle(tenant: TenantSlots): void {
    if (tenant.admitted === 0 && tenant.waiters.length === 0) this.#tenants.delete(tenant.name);
  }
}
