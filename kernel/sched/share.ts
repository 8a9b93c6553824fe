/**
 * Flow control by share: while more than one tenant is active, a tenant is
 * *held* — the supervisor stops decoding (and so reading) its cells' output
 * — when it has `jobsShare` or more jobs queued or running, or when it used
 * more than `threadShare` of the supervisor's thread in the current period
 * (its jobs' service time and the decoding of its frames, as charged). It is
 * let go when its backlog falls under the share or the period ends. The
 * flood then waits in the pipe and, past it, in the agent's Worker (the
 * cell's relay credit blocks it), instead of as queued work and a busy
 * supervisor; nothing is dropped, every frame is read and answered later.
 *
 * A tenant is active while it submitted a job within `activeWindowMs`; a
 * tenant alone is never held (its share is everything). Held readers wake
 * together and ask again one after the other: the first one's frames raise
 * the backlog, so the next ones are held again (no herd past the share).
 *
 * @module
 */

/** `ShareGate` options. */
export interface ShareGateOptions {
  /** Backlog (jobs queued or running) at which a contended tenant is held. */
  jobsShare: number;
  /** Fraction (0..1] of the supervisor's thread one contended tenant may use per period. */
  threadShare: number;
  /** Length of a period, ms. */
  periodMs: number;
  /** How long a tenant counts as active after its last submission, ms. */
  activeWindowMs: number;
  nowMs: () => number;
}

/** Tenants seen before stale ones are pruned on a submission. */
const seenPruneSize = 64;

/** See the module doc. */
export class ShareGate {
  readonly #o: ShareGateOptions;
  /** Tenant → when it last submitted, ms. */
  readonly #seen = new Map<string, number>();
  /** Tenant → what its held readers wait for. */
  readonly #held = new Map<string, PromiseWithResolvers<void>>();
  /** Tenant → thread time charged in the current period, ms. */
  readonly #spent = new Map<string, number>();
  #periodStartMs = -Infinity;
  #periodTimer: ReturnType<typeof setTimeout> | undefined;
  /** Times a reader was held, since construction. */
  holds = 0;

  /** @param options the shares, the period and the activity window */
  constructor(options: ShareGateOptions) {
    this.#o = options;
  }

  /** Tenants currently held. */
  get heldTenants(): number {
    return this.#held.size;
  }

  /** `tenant` submitted a job now. */
  saw(tenant: string): void {
    const now = this.#o.nowMs();
    this.#seen.set(tenant, now);
    if (this.#seen.size > seenPruneSize) this.#activeOthers(tenant, now, true);
  }

  /** Charge `ms` of the supervisor's thread to `tenant`. */
  charge(tenant: string, ms: number): void {
    this.#roll(this.#o.nowMs());
    this.#spent.set(tenant, (this.#spent.get(tenant) ?? 0) + ms);
  }

  /**
   * Undefined while `tenant` may go on (within its shares, or alone); else a
   * promise that resolves once it may be asked again.
   */
  hold(tenant: string, backlog: number): Promise<void> | undefined {
    const now = this.#o.nowMs();
    this.#roll(now);
    const overQuota = (this.#spent.get(tenant) ?? 0) >= this.#o.threadShare * this.#o.periodMs;
    if (backlog < this.#o.jobsShare && !overQuota) return undefined;
    if (!this.#activeOthers(tenant, now, false)) return undefined;
    let held = this.#held.get(tenant);
    if (held === undefined) {
      held = Promise.withResolvers<void>();
      this.#held.set(tenant, held);
    }
    if (overQuota) this.#wakeAtPeriodEnd(now);
    this.holds++;
    return held.promise;
  }

  /** `tenant`'s backlog is now `backlog`: wake its held readers once it is under the share. */
  update(tenant: string, backlog: number): void {
    if (backlog < this.#o.jobsShare) this.#release(tenant);
  }

  #release(tenant: string): void {
    const held = this.#held.get(tenant);
    if (held === undefined) return;
    this.#held.delete(tenant);
    held.resolve();
  }

  /** Start a new period when the current one is over (every quota is whole again). */
  #roll(now: number): void {
    if (now - this.#periodStartMs < this.#o.periodMs) return;
    this.#periodStartMs = now;
    this.#spent.clear();
  }

  /** One timer for all tenants held by their quota: at the period's end every held reader asks again. */
  #wakeAtPeriodEnd(now: number): void {
    if (this.#periodTimer !== undefined) return;
    const left = Math.max(1, this.#periodStartMs + this.#o.periodMs - now);
    this.#periodTimer = setTimeout(() => {
      this.#periodTimer = undefined;
      for (const tenant of [...this.#held.keys()]) this.#release(tenant);
    }, left);
  }

  /** Whether a tenant other than `tenant` is active; drops stale entries on the way (all of them if `prune`). */
  #activeOthers(tenant: string, now: number, prune: boolean): boolean {
    for (const [name, at] of this.#seen) {
      if (now - at > this.#o.activeWindowMs) this.#seen.delete(name);
      else if (name !== tenant && !prune) return true;
    }
    return false;
  }
}
