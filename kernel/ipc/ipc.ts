/**
 * `Ipc`: owns every IPC object (pipes, message queues, topics, shared memory
 * segments), scoped to tenants, with all agent bytes in the kernel arena.
 *
 * @module
 */

import type { Arena } from "../memory/mod.ts";
import type { SyscallDef } from "../syscall/mod.ts";
import { IpcContext } from "./context.ts";
import { MessageQueues } from "./message_queue.ts";
import { Pipes } from "./pipe.ts";
import { SharedMemory } from "./shm.ts";
import { PayloadStore } from "./store.ts";
import { ipcSyscalls } from "./syscalls.ts";
import { Topics } from "./topic.ts";

/** Options of `new Ipc`. */
export interface IpcOptions {
  /** Where every byte of agent data is kept. */
  arena: Arena;
  /** Monotonic clock, ms (default `performance.now`); used for wait deadlines. */
  nowMs?: () => number;
}

/** What `releaseAll` released. */
export interface IpcRelease {
  /** Descriptors, queue holds, subscriptions and segment attachments dropped. */
  objects: number;
  /** Arena bytes (by block capacity) the pid no longer pays for: freed or re-charged to a remaining holder. */
  bytes: number;
}

/**
 * The IPC subsystem.
 *
 * @example
 * ```ts
 * const ipc = new Ipc({ arena: new Arena({ capacityBytes: 1 << 20 }) });
 * const table = new SyscallTable(ipc.syscalls());
 * // ... when an agent exits:
 * ipc.releaseAll(pid);
 * ```
 */
export class Ipc {
  /** Pipe operations. */
  readonly pipes: Pipes;
  /** Message queue operations. */
  readonly queues: MessageQueues;
  /** Pub/sub operations. */
  readonly topics: Topics;
  /** Shared memory operations. */
  readonly shm: SharedMemory;
  readonly #ctx: IpcContext;

  /** @param options the arena and clock */
  constructor(options: IpcOptions) {
    this.#ctx = new IpcContext(new PayloadStore(options.arena), options.nowMs ?? (() => performance.now()));
    this.pipes = new Pipes(this.#ctx);
    this.queues = new MessageQueues(this.#ctx);
    this.topics = new Topics(this.#ctx);
    this.shm = new SharedMemory(this.#ctx);
  }

  /** The `ipc.*` syscall rows (all need capability `"ipc"`). */
  syscalls(): SyscallDef[] {
    return ipcSyscalls(this);
  }

  /**
   * Close every descriptor, queue hold, subscription and attachment of `pid`,
   * cancel its waiters (`ECANCELED`), free the arena blocks of objects nobody
   * else holds and re-charge those of shared objects to a remaining holder.
   * Afterwards `heldBy(pid) === 0` and `bytesOf(pid) === 0`.
   */
  releaseAll(pid: number): IpcRelease {
    const ctx = this.#ctx;
    const before = ctx.store.bytesOf(pid);
    const state = ctx.forgetPid(pid);
    ctx.waits.cancel(pid);
    let objects = 0;
    if (state !== undefined) {
      objects += state.fds.size + state.queues.size + state.subs.size + state.segments.size;
      for (const fd of [...state.fds.keys()]) this.pipes.closeFd(state, fd);
      for (const queue of [...state.queues]) this.queues.release(state, queue);
      for (const sub of [...state.subs]) this.topics.release(state, sub);
      for (const segment of [...state.segments]) this.shm.release(state, segment);
    }
    ctx.store.rehome(pid);
    return { objects, bytes: before - ctx.store.bytesOf(pid) };
  }

  /**
   * Duplicate pipe descriptors `fds` of `parentPid` into `childPid` (same
   * numbers when free in the child, else the lowest free ones).
   *
   * @returns the child's descriptors, in the order of `fds`
   * @throws {KernelError} `EBADF` for a descriptor the parent does not hold, `ENOMEM` past `fdsPerPidMax`
   */
  inherit(parentPid: number, childPid: number, fds: readonly number[]): number[] {
    return this.pipes.inherit(parentPid, childPid, fds);
  }

  /** Things IPC holds for `pid`: descriptors, queue holds, subscriptions, attachments and parked waiters. */
  heldBy(pid: number): number {
    const state = this.#ctx.peekPid(pid);
    const held = state === undefined ? 0 : state.fds.size + state.queues.size + state.subs.size + state.segments.size;
    return held + this.#ctx.waits.count(pid) + this.#ctx.store.slabsOf(pid);
  }

  /** Arena bytes (by block capacity) IPC currently charges to `pid`. */
  bytesOf(pid: number): number {
    return this.#ctx.store.bytesOf(pid);
  }

  /** Tenants with at least one live IPC object. */
  tenants(): number {
    return this.#ctx.tenantCount();
  }
}
