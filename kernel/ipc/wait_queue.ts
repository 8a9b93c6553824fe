/**
 * Wait queues: the one blocking primitive of IPC. A blocked syscall holds a
 * promise from `WaitQueue.wait`; it settles when the queue is woken (true),
 * when its timeout passes (false), or rejects with `ECANCELED` when its pid
 * is released through the shared `WaitRegistry`.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import { timeoutMsMax } from "./limits.ts";

/** One parked caller (internal to the wait queue machinery). */
export interface Waiter {
  readonly pid: number;
  readonly queue: WaitQueue;
  resolve(woken: boolean): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Indexes waiters by pid across every queue, so that releasing a pid cancels
 * all of its waits at once.
 */
export class WaitRegistry {
  #byPid = new Map<number, Set<Waiter>>();

  /** Waiters currently parked for `pid`. */
  count(pid: number): number {
    return this.#byPid.get(pid)?.size ?? 0;
  }

  /**
   * Reject every waiter of `pid` with `ECANCELED`.
   *
   * @returns how many waiters were cancelled
   */
  cancel(pid: number): number {
    const waiters = this.#byPid.get(pid);
    if (waiters === undefined) return 0;
    this.#byPid.delete(pid);
    for (const waiter of waiters) {
      waiter.queue.detach(waiter);
      waiter.reject(new KernelError("ECANCELED", "ipc: the agent's wait was cancelled"));
    }
    return waiters.size;
  }

  /** @internal used by `WaitQueue` */
  add(waiter: Waiter): void {
    let set = this.#byPid.get(waiter.pid);
    if (set === undefined) this.#byPid.set(waiter.pid, set = new Set());
    set.add(waiter);
  }

  /** @internal used by `WaitQueue` */
  remove(waiter: Waiter): void {
    const set = this.#byPid.get(waiter.pid);
    if (set === undefined) return;
    set.delete(waiter);
    if (set.size === 0) this.#byPid.delete(waiter.pid);
  }
}

/**
 * A FIFO of parked callers with per-wait timeouts.
 *
 * @example
 * ```ts
 * const queue = new WaitQueue();
 * setTimeout(() => queue.wakeOne(), 1);
 * const woken = await queue.wait(1000); // true; false after 1000 ms without a wake
 * ```
 */
export class WaitQueue {
  #waiters = new Set<Waiter>();
  #registry: WaitRegistry;

  /** @param registry where waiters are indexed by pid (a private one by default) */
  constructor(registry: WaitRegistry = new WaitRegistry()) {
    this.#registry = registry;
  }

  /** Callers parked on this queue. */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Park until woken or until `timeoutMs` passes.
   *
   * @param timeoutMs ms to wait; `undefined` waits until woken or cancelled; `0` returns false at once
   * @param pid the pid the wait belongs to (for cancellation); 0 for none
   * @returns true when woken, false on timeout
   * @throws {KernelError} (rejects) `ECANCELED` when the pid is released while waiting
   */
  wait(timeoutMs?: number, pid = 0): Promise<boolean> {
    if (timeoutMs !== undefined && !(timeoutMs > 0)) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = { pid, queue: this, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          waiter.timer = undefined;
          this.detach(waiter);
          resolve(false);
        }, Math.min(timeoutMs, timeoutMsMax));
      }
      this.#waiters.add(waiter);
      this.#registry.add(waiter);
    });
  }

  /** Wake the longest-parked caller. @returns whether one was woken */
  wakeOne(): boolean {
    for (const waiter of this.#waiters) {
      this.detach(waiter);
      waiter.resolve(true);
      return true;
    }
    return false;
  }

  /** Wake every parked caller. @returns how many were woken */
  wakeAll(): number {
    const all = [...this.#waiters];
    for (const waiter of all) {
      this.detach(waiter);
      waiter.resolve(true);
    }
    return all.length;
  }

  /** @internal remove `waiter` from this queue and the registry, clearing its timer. */
  detach(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    this.#waiters.delete(waiter);
    this.#registry.remove(waiter);
  }
}
