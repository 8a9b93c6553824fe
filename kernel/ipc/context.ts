/**
 * State shared by the IPC families: per-pid holdings, per-tenant namespaces,
 * the store, the wait registry and the clock. Lookups are always by
 * (tenant, id), so an id from another tenant is simply not found.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import type { Process } from "../process/mod.ts";
import { objectsPerTenantMax } from "./limits.ts";
import type { MessageQueue } from "./message_queue.ts";
import type { Pipe } from "./pipe.ts";
import type { Segment } from "./shm.ts";
import { PayloadStore } from "./store.ts";
import type { Topic, TopicSubscription } from "./topic.ts";
import { type WaitQueue, WaitRegistry } from "./wait_queue.ts";

/** One descriptor: an end of a pipe. */
export interface FdEntry {
  readonly pipe: Pipe;
  readonly end: "read" | "write";
}

/** Everything one pid holds. `alive` turns false when the pid is released. */
export interface PidState {
  readonly pid: number;
  readonly tenant: string;
  alive: boolean;
  readonly fds: Map<number, FdEntry>;
  readonly queues: Set<MessageQueue>;
  readonly subs: Set<TopicSubscription>;
  readonly segments: Set<Segment>;
}

/** One tenant's namespace of named objects. */
export interface TenantSpace {
  objects: number;
  readonly queuesByName: Map<string, MessageQueue>;
  readonly queues: Map<string, MessageQueue>;
  readonly topics: Map<string, Topic>;
  readonly subs: Map<string, TopicSubscription>;
  readonly segments: Map<string, Segment>;
}

/** The shared state. */
export class IpcContext {
  readonly store: PayloadStore;
  readonly waits = new WaitRegistry();
  readonly now: () => number;
  readonly #pids = new Map<number, PidState>();
  readonly #tenants = new Map<string, TenantSpace>();

  /** @param store arena access @param now monotonic clock, ms */
  constructor(store: PayloadStore, now: () => number) {
    this.store = store;
    this.now = now;
  }

  /** The holdings of `proc`, created on first use. */
  pidState(proc: Process): PidState {
    return this.statePid(proc.pid, proc.tenant);
  }

  /** The holdings of `pid` in `tenant`, created on first use. */
  statePid(pid: number, tenant: string): PidState {
    let state = this.#pids.get(pid);
    if (state === undefined) {
      state = { pid, tenant, alive: true, fds: new Map(), queues: new Set(), subs: new Set(), segments: new Set() };
      this.#pids.set(pid, state);
    }
    if (state.tenant !== tenant) throw new Error(`ipc: pid ${pid} reused across tenants without releaseAll`);
    return state;
  }

  /** The holdings of `pid` if it has any record. */
  peekPid(pid: number): PidState | undefined {
    return this.#pids.get(pid);
  }

  /** Forget `pid` (after its holdings were released) and mark it dead. */
  forgetPid(pid: number): PidState | undefined {
    const state = this.#pids.get(pid);
    if (state === undefined) return undefined;
    state.alive = false;
    this.#pids.delete(pid);
    return state;
  }

  /** The namespace of `tenant` (created on first use). */
  space(tenant: string): TenantSpace {
    let space = this.#tenants.get(tenant);
    if (space === undefined) {
      space = {
        objects: 0,
        queuesByName: new Map(),
        queues: new Map(),
        topics: new Map(),
        subs: new Map(),
        segments: new Map(),
      };
      this.#tenants.set(tenant, space);
    }
    return space;
  }

  /** The namespace of `tenant` if it has one (lookups never create one). */
  findSpace(tenant: string): TenantSpace | undefined {
    return this.#tenants.get(tenant);
  }

  /** Count one more object for `tenant`. @throws {KernelError} `ENOMEM` at `objectsPerTenantMax` */
  addObject(tenant: string): void {
    const space = this.space(tenant);
    if (space.objects >= objectsPerTenantMax) {
      throw new KernelError("ENOMEM", `ipc: tenant already has ${objectsPerTenantMax} IPC objects`);
    }
    space.objects++;
  }

  /** Count one object fewer for `tenant`; forget an empty namespace. */
  dropObject(tenant: string): void {
    const space = this.#tenants.get(tenant);
    if (space === undefined) throw new Error("ipc: dropObject on unknown tenant");
    space.objects--;
    if (space.objects === 0 && space.topics.size === 0) this.#tenants.delete(tenant);
  }

  /** Tenants with a live namespace (for tests and stats). */
  tenantCount(): number {
    return this.#tenants.size;
  }

  /** Absolute deadline for a relative timeout (undefined = forever). */
  deadline(timeoutMs: number | undefined): number | undefined {
    return timeoutMs === undefined ? undefined : this.now() + timeoutMs;
  }

  /**
   * Park `state`'s pid on `queue` until woken; throws `ETIMEDOUT` once
   * `deadline` has passed and `ECANCELED` if the pid was released meanwhile.
   */
  async park(queue: WaitQueue, state: PidState, deadline: number | undefined, what: string): Promise<void> {
    const remaining = deadline === undefined ? undefined : deadline - this.now();
    if (remaining !== undefined && remaining <= 0) throw new KernelError("ETIMEDOUT", `${what}: timed out`);
    const woken = await queue.wait(remaining, state.pid);
    if (!state.alive) {
      if (woken) queue.wakeOne(); // pass the wake on: this caller will not consume it
      throw new KernelError("ECANCELED", `${what}: the agent's IPC was released`);
    }
    if (!woken) throw new KernelError("ETIMEDOUT", `${what}: timed out`);
  }
}
