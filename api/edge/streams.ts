/**
 * Slots for open SSE streams: a cap on the whole server, per tenant and
 * per API key. A slot is taken before a stream subscribes and given back
 * exactly once when it ends.
 *
 * @module
 */

import type { EdgeLimits } from "../limits.ts";

/** Which cap refused a stream, and its value. */
export interface StreamRefusal {
  cap: "sseStreamsMax" | "sseStreamsPerTenantMax" | "sseStreamsPerKeyMax";
  max: number;
}

/**
 * Counts open streams.
 *
 * @example
 * ```ts
 * const slots = new StreamSlots({ sseStreamsMax: 4, sseStreamsPerTenantMax: 2, sseStreamsPerKeyMax: 1 });
 * const release = slots.acquire("t1", "k1"); // a function
 * slots.acquire("t1", "k1"); // { cap: "sseStreamsPerKeyMax", max: 1 }
 * ```
 */
export class StreamSlots {
  /** Streams refused, all caps. */
  refused = 0;
  #limits: Pick<EdgeLimits, "sseStreamsMax" | "sseStreamsPerTenantMax" | "sseStreamsPerKeyMax">;
  #open = 0;
  #tenants = new Map<string, number>();
  #keys = new Map<string, number>();

  /** @param limits the three caps */
  constructor(limits: Pick<EdgeLimits, "sseStreamsMax" | "sseStreamsPerTenantMax" | "sseStreamsPerKeyMax">) {
    this.#limits = limits;
  }

  /** Open streams. */
  get open(): number {
    return this.#open;
  }

  /**
   * Take a slot for a stream of `tenant` opened with `key`.
   *
   * @param tenant tenant id
   * @param key API key hash
   * @returns a release function (idempotent), or the cap that refused
   */
  acquire(tenant: string, key: string): (() => void) | StreamRefusal {
    const l = this.#limits;
    const refusal: StreamRefusal | undefined = this.#open >= l.sseStreamsMax
      ? { cap: "sseStreamsMax", max: l.sseStreamsMax }
      : (this.#tenants.get(tenant) ?? 0) >= l.sseStreamsPerTenantMax
      ? { cap: "sseStreamsPerTenantMax", max: l.sseStreamsPerTenantMax }
      : (this.#keys.get(key) ?? 0) >= l.sseStreamsPerKeyMax
      ? { cap: "sseStreamsPerKeyMax", max: l.sseStreamsPerKeyMax }
      : undefined;
    if (refusal !== undefined) {
      this.refused++;
      return refusal;
    }
    this.#open++;
    bump(this.#tenants, tenant, 1);
    bump(this.#keys, key, 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#open--;
      bump(this.#tenants, tenant, -1);
      bump(this.#keys, key, -1);
    };
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
}
