/**
 * The delivery queue: one per server, bounded, served by a small worker
 * pool. `push` never blocks and never waits on I/O, so an agent's exit or an
 * API request that raises an event is never held up by a receiver. A full
 * queue drops its oldest pending delivery and logs the drop (nothing is lost
 * silently). One tenant holds at most a quarter of the queue and half the
 * workers, so its flood or its hanging receiver cannot starve the others. Each attempt is one POST with a timeout; timeouts, connection
 * errors, 5xx and 429 are retried with exponential backoff and jitter up to
 * `attemptsMax`; any other answer ends the delivery. Every attempt is a row
 * of the delivery log.
 *
 * @module
 */

import type { PostResult } from "./egress.ts";
import type { DeliveryOutcome, DeliveryRow } from "./rows.ts";

/** Timing and bounds of deliveries (defaults: `deliveryDefaults`). */
export interface DeliveryOptions {
  /** Pending deliveries held (waiting or due); past it the oldest is dropped. @default 1024 */
  queueMax: number;
  /** POSTs in flight at once. @default 4 */
  workers: number;
  /** One attempt's bound (DNS, connect, TLS, response head), ms. @default 10000 */
  timeoutMs: number;
  /** Attempts per delivery, the first included. @default 5 */
  attemptsMax: number;
  /** Delay before the 2nd attempt, ms; doubled for each next one, then jittered to 50–100 %. @default 5000 */
  backoffBaseMs: number;
  /** Longest delay between two attempts, ms. @default 60000 */
  backoffMsMax: number;
}

/** The defaults: 5 attempts over at most ~75 s of backoff. */
export const deliveryDefaults: DeliveryOptions = {
  queueMax: 1024,
  workers: 4,
  timeoutMs: 10_000,
  attemptsMax: 5,
  backoffBaseMs: 5_000,
  backoffMsMax: 60_000,
};

/** One delivery: an event for one endpoint. */
export interface Delivery {
  deliveryId: string;
  /** Whose endpoint (the queue's shares are per tenant). */
  tenantId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  /** The JSON payload, exactly as sent (and signed). */
  body: string;
  /** Attempts made so far. */
  attempts: number;
  /** When it was queued (what "oldest" means), ms. */
  queuedAtMs: number;
  /** When the next attempt may start, ms. */
  dueAtMs: number;
}

/** What the queue needs from the service. */
export interface DeliveryDeps {
  /** Send one attempt (the service signs it with the endpoint's current secret); null when the endpoint is gone. */
  send(d: Delivery, signal: AbortSignal): Promise<PostResult | null>;
  /** Append log rows (never throws: the service counts a store failure). */
  log(rows: Omit<DeliveryRow, "seq">[]): void;
}

/** Counters, for `/metrics` and tests. */
export interface DeliveryStats {
  pending: number;
  inFlight: number;
  delivered: number;
  failed: number;
  retried: number;
  dropped: number;
}

/** The bounded queue and its worker pool. */
export class DeliveryQueue {
  readonly options: DeliveryOptions;
  readonly #deps: DeliveryDeps;
  #pending: Delivery[] = [];
  /** Pending deliveries per tenant (its share of the queue). */
  #pendingOf = new Map<string, number>();
  #inFlight = new Set<Promise<void>>();
  /** Attempts in flight per tenant. */
  #busy = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAtMs = Infinity;
  #stop = new AbortController();
  #counts = { delivered: 0, failed: 0, retried: 0, dropped: 0 };

  /** @throws {RangeError} for a bound that is not a positive whole number */
  constructor(deps: DeliveryDeps, options: Partial<DeliveryOptions> = {}) {
    const given = options as Record<string, unknown>;
    const picked = Object.keys(deliveryDefaults).filter((k) => given[k] !== undefined).map((k) => [k, given[k]]);
    this.options = { ...deliveryDefaults, ...Object.fromEntries(picked) };
    for (const [name, value] of Object.entries(this.options)) {
      const min = name === "backoffBaseMs" ? 0 : 1;
      if (!Number.isSafeInteger(value) || value < min) {
        throw new RangeError(`webhooks.${name} must be a whole number ≥ ${min}, got ${value}`);
      }
    }
    this.#deps = deps;
  }

  /**
   * Queue a delivery (never blocks). A full queue drops its oldest pending
   * delivery, and a tenant over its share (a quarter of `queueMax`) its own
   * oldest, both logged.
   */
  push(d: Delivery): void {
    if (this.#stop.signal.aborted) return this.#drop(d, "server stopping: delivery not attempted");
    const { queueMax } = this.options;
    const share = Math.max(1, Math.floor(queueMax / 4));
    if (this.#pending.length >= queueMax) {
      this.#dropOldest(() => true, `queue full (webhooks.queueMax ${queueMax}): oldest pending delivery dropped`);
    } else if ((this.#pendingOf.get(d.tenantId) ?? 0) >= share) {
      this.#dropOldest(
        (p) => p.tenantId === d.tenantId,
        `the tenant's share of the queue is full (a quarter of webhooks.queueMax, ${share}): its oldest pending delivery dropped`,
      );
    }
    this.#pending.push(d);
    this.#pendingOf.set(d.tenantId, (this.#pendingOf.get(d.tenantId) ?? 0) + 1);
    if (d.dueAtMs > Date.now()) this.#arm(d.dueAtMs);
    else if (this.#inFlight.size < this.options.workers) this.#pump();
  }

  #dropOldest(whose: (d: Delivery) => boolean, why: string): void {
    let oldest = -1;
    for (let i = 0; i < this.#pending.length; i++) {
      const p = this.#pending[i];
      if (whose(p) && (oldest < 0 || p.queuedAtMs < this.#pending[oldest].queuedAtMs)) oldest = i;
    }
    if (oldest >= 0) this.#drop(this.#take(oldest), why);
  }

  /** Remove the pending delivery at `i`. */
  #take(i: number): Delivery {
    const [d] = this.#pending.splice(i, 1);
    const left = (this.#pendingOf.get(d.tenantId) ?? 1) - 1;
    if (left > 0) this.#pendingOf.set(d.tenantId, left);
    else this.#pendingOf.delete(d.tenantId);
    return d;
  }

  /** Counters. */
  stats(): DeliveryStats {
    return { pending: this.#pending.length, inFlight: this.#inFlight.size, ...this.#counts };
  }

  /** Stop: attempts in flight are abandoned (logged as failed), pending deliveries are logged as dropped. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    this.#pendingOf.clear();
    for (const d of this.#pending.splice(0)) this.#drop(d, "server stopping: delivery abandoned");
    await Promise.all(this.#inFlight);
  }

  #drop(d: Delivery, why: string): void {
    this.#counts.dropped++;
    this.#deps.log([row(d, d.attempts, "dropped", null, why, 0, null)]);
  }

  /**
   * Start every due delivery a free worker can take, at most half the
   * workers for one tenant (so one tenant's hanging receiver cannot hold
   * them all). A due delivery left waiting starts when an attempt ends
   * (which pumps again); one not yet due has the timer armed for it.
   */
  #pump(): void {
    if (this.#stop.signal.aborted) return;
    const nowMs = Date.now();
    const perTenantMax = Math.max(1, Math.floor(this.options.workers / 2));
    while (this.#inFlight.size < this.options.workers) {
      let next = -1;
      for (let i = 0; i < this.#pending.length; i++) {
        const p = this.#pending[i];
        if (p.dueAtMs > nowMs || (this.#busy.get(p.tenantId) ?? 0) >= perTenantMax) continue;
        if (next < 0 || p.dueAtMs < this.#pending[next].dueAtMs) next = i;
      }
      if (next < 0) break;
      const d = this.#take(next);
      this.#busy.set(d.tenantId, (this.#busy.get(d.tenantId) ?? 0) + 1);
      const run: Promise<void> = this.#attempt(d).finally(() => {
        const left = (this.#busy.get(d.tenantId) ?? 1) - 1;
        if (left > 0) this.#busy.set(d.tenantId, left);
        else this.#busy.delete(d.tenantId);
        this.#inFlight.delete(run);
        this.#pump();
      });
      this.#inFlight.add(run);
    }
  }

  /** Have the timer fire by `dueMs` (O(1): an earlier timer stays, and re-arms for the rest when it fires). */
  #arm(dueMs: number): void {
    if (this.#stop.signal.aborted || dueMs >= this.#timerAtMs) return;
    clearTimeout(this.#timer);
    this.#timerAtMs = dueMs;
    this.#timer = setTimeout(() => {
      this.#timerAtMs = Infinity;
      this.#pump();
      const nowMs = Date.now();
      let nextMs = Infinity;
      for (const d of this.#pending) if (d.dueAtMs > nowMs) nextMs = Math.min(nextMs, d.dueAtMs);
      if (nextMs !== Infinity) this.#arm(nextMs);
    }, Math.max(0, dueMs - Date.now()));
  }

  async #attempt(d: Delivery): Promise<void> {
    const started = performance.now();
    let result: PostResult | null;
    try {
      result = await this.#deps.send(d, this.#stop.signal);
    } catch (err) {
      result = { kind: "failed", error: `internal: ${err instanceof Error ? err.message : err}`, retry: false };
    }
    if (result === null) return; // the endpoint was deleted, and its log with it
    const attempt = ++d.attempts;
    const durationMs = Math.round(performance.now() - started);
    const status = result.kind === "answered" ? result.status : null;
    const ok = status !== null && status >= 200 && status < 300;
    const retryable = result.kind === "failed" ? result.retry : status !== null && (status >= 500 || status === 429);
    const error = result.kind === "failed" ? result.error : ok ? null : answerError(status!);
    if (ok) this.#counts.delivered++;
    if (ok || !retryable || attempt >= this.options.attemptsMax || this.#stop.signal.aborted) {
      if (!ok) this.#counts.failed++;
      const why = !ok && retryable && attempt >= this.options.attemptsMax
        ? `${error}; gave up after ${attempt} attempts (webhooks.attemptsMax)`
        : error;
      this.#deps.log([row(d, attempt, ok ? "delivered" : "failed", status, why, durationMs, null)]);
      return;
    }
    this.#counts.retried++;
    d.dueAtMs = Date.now() + this.#backoffMs(attempt);
    this.#deps.log([row(d, attempt, "retrying", status, error, durationMs, new Date(d.dueAtMs).toISOString())]);
    this.push(d);
  }

  /** Delay after attempt `n` (1-based): base·2^(n−1), capped, jittered to 50–100 %. */
  #backoffMs(n: number): number {
    const { backoffBaseMs, backoffMsMax } = this.options;
    const full = Math.min(backoffMsMax, backoffBaseMs * 2 ** (n - 1));
    return Math.round(full * (0.5 + Math.random() * 0.5));
  }
}

function answerError(status: number): string {
  if (status >= 300 && status < 400) return `answered ${status}: redirects are not followed`;
  return `answered ${status}`;
}

function row(
  d: Delivery,
  attempt: number,
  outcome: DeliveryOutcome,
  status: number | null,
  error: string | null,
  durationMs: number,
  nextRetryAt: string | null,
): Omit<DeliveryRow, "seq"> {
  return {
    webhookId: d.webhookId,
    deliveryId: d.deliveryId,
    eventId: d.eventId,
    eventType: d.eventType,
    attempt,
    outcome,
    status,
    error,
    durationMs,
    at: new Date().toISOString(),
    nextRetryAt,
  };
}
