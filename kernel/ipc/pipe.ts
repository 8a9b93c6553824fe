/**
 * Pipes: bounded byte streams with backpressure. A pipe's bytes live in a
 * `ByteRing` in the arena; its ends are descriptors (small ints, per pid).
 *
 * - a blocking write waits until all its bytes fit (writes are at most
 *   `pipeBufferBytesMax`, so each is atomic); a nonblocking one writes what
 *   fits and answers `EAGAIN` only when nothing fits;
 * - writing with every read end closed answers `EPIPE` (also to blocked writers);
 * - reading an empty pipe whose write ends are all closed answers `eof: true`;
 *   `eof` is also true when a read drains the last bytes of such a pipe.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import type { Process } from "../process/mod.ts";
import { ByteRing } from "./byte_ring.ts";
import type { FdEntry, IpcContext, PidState } from "./context.ts";
import { fdFirst, fdsPerPidMax, pipeBufferBytesMax, pipeRingBytesMin } from "./limits.ts";
import type { SlabOwner } from "./store.ts";
import { WaitQueue } from "./wait_queue.ts";

/** One pipe: a ring, open-end counts and two wait queues. */
export class Pipe implements SlabOwner {
  readonly tenant: string;
  readonly ring: ByteRing;
  readonly readable: WaitQueue;
  readonly writable: WaitQueue;
  /** Descriptors open on each end, by pid. */
  readonly readers = new Map<number, number>();
  readonly writers = new Map<number, number>();

  /** @param ctx shared state @param tenant the owning tenant */
  constructor(ctx: IpcContext, tenant: string) {
    this.tenant = tenant;
    this.ring = new ByteRing(ctx.store, this, pipeBufferBytesMax, pipeRingBytesMin);
    this.readable = new WaitQueue(ctx.waits);
    this.writable = new WaitQueue(ctx.waits);
  }

  /** A pid other than `leaving` holding either end. */
  heir(leaving: number): number | undefined {
    for (const pid of this.readers.keys()) if (pid !== leaving) return pid;
    for (const pid of this.writers.keys()) if (pid !== leaving) return pid;
    return undefined;
  }
}

/** What a read returns. */
export interface PipeReadResult {
  data: string;
  eof: boolean;
}

function bump(map: Map<number, number>, pid: number, by: number): void {
  const n = (map.get(pid) ?? 0) + by;
  if (n === 0) map.delete(pid);
  else map.set(pid, n);
}

/** The pipe operations. */
export class Pipes {
  #ctx: IpcContext;

  /** @param ctx shared state */
  constructor(ctx: IpcContext) {
    this.#ctx = ctx;
  }

  /** Create a pipe; both ends go to `proc`. */
  pipe(proc: Process): { readFd: number; writeFd: number } {
    const state = this.#ctx.pidState(proc);
    if (state.fds.size + 2 > fdsPerPidMax) {
      throw new KernelError("ENOMEM", `ipc.pipe: pid already holds ${state.fds.size} of ${fdsPerPidMax} descriptors`);
    }
    this.#ctx.addObject(proc.tenant);
    const pipe = new Pipe(this.#ctx, proc.tenant);
    const readFd = this.#install(state, { pipe, end: "read" }, fdFirst);
    const writeFd = this.#install(state, { pipe, end: "write" }, fdFirst);
    return { readFd, writeFd };
  }

  /** Write `data` to `fd`; resolves to bytes written. */
  async write(
    proc: Process,
    fd: number,
    data: Uint8Array,
    nonblock: boolean,
    timeoutMs?: number,
  ): Promise<number> {
    const state = this.#ctx.pidState(proc);
    const deadline = this.#ctx.deadline(timeoutMs);
    for (;;) {
      const pipe = this.#end(state, fd, "write", "ipc.write").pipe;
      if (pipe.readers.size === 0) throw new KernelError("EPIPE", "ipc.write: every read end is closed");
      const free = pipe.ring.free;
      if (data.length <= free || (nonblock && free > 0)) {
        const n = Math.min(data.length, free);
        pipe.ring.write(data.subarray(0, n), state.pid, state.tenant);
        if (n > 0) pipe.readable.wakeAll();
        return n;
      }
      if (nonblock) throw new KernelError("EAGAIN", "ipc.write: pipe is full");
      await this.#ctx.park(pipe.writable, state, deadline, "ipc.write");
    }
  }

  /** Read up to `max` bytes from `fd`. */
  async read(
    proc: Process,
    fd: number,
    max: number,
    timeoutMs: number | undefined,
    nonblock: boolean,
  ): Promise<PipeReadResult> {
    const state = this.#ctx.pidState(proc);
    const deadline = this.#ctx.deadline(timeoutMs);
    for (;;) {
      const pipe = this.#end(state, fd, "read", "ipc.read").pipe;
      const closed = pipe.writers.size === 0;
      if (pipe.ring.length > 0 || closed || max === 0) {
        const bytes = pipe.ring.read(Math.min(max, pipeBufferBytesMax));
        if (bytes.length > 0) pipe.writable.wakeAll();
        return { data: bytes.toBase64(), eof: closed && pipe.ring.length === 0 };
      }
      if (nonblock) throw new KernelError("EAGAIN", "ipc.read: pipe is empty");
      await this.#ctx.park(pipe.readable, state, deadline, "ipc.read");
    }
  }

  /** Close `fd` of `proc`. */
  close(proc: Process, fd: number): void {
    const state = this.#ctx.pidState(proc);
    this.#end(state, fd, null, "ipc.close");
    this.closeFd(state, fd);
  }

  /** Close a descriptor known to be held; frees the pipe when its last end closes. */
  closeFd(state: PidState, fd: number): void {
    const entry = state.fds.get(fd)!;
    state.fds.delete(fd);
    const pipe = entry.pipe;
    if (entry.end === "read") {
      bump(pipe.readers, state.pid, -1);
      if (pipe.readers.size === 0) pipe.writable.wakeAll();
    } else {
      bump(pipe.writers, state.pid, -1);
      if (pipe.writers.size === 0) pipe.readable.wakeAll();
    }
    if (pipe.readers.size === 0 && pipe.writers.size === 0) {
      pipe.ring.clear();
      this.#ctx.dropObject(pipe.tenant);
    }
  }

  /**
   * Duplicate `fds` of `parent` into `child` (same numbers when free, else
   * the lowest free ones).
   *
   * @returns the child's descriptors, in the order of `fds`
   */
  inherit(parentPid: number, childPid: number, fds: readonly number[]): number[] {
    const parent = this.#ctx.peekPid(parentPid);
    if (parent === undefined && fds.length > 0) {
      throw new KernelError("EBADF", "ipc.inherit: parent holds no descriptors");
    }
    if (parent === undefined) return [];
    const entries = fds.map((fd) => this.#end(parent, fd, null, "ipc.inherit"));
    const child = this.#ctx.statePid(childPid, parent.tenant);
    if (child.fds.size + entries.length > fdsPerPidMax) {
      throw new KernelError("ENOMEM", `ipc.inherit: child would hold more than ${fdsPerPidMax} descriptors`);
    }
    return entries.map((entry, i) => this.#install(child, { pipe: entry.pipe, end: entry.end }, fds[i]));
  }

  #install(state: PidState, entry: FdEntry, want: number): number {
    let fd = want >= fdFirst && !state.fds.has(want) ? want : fdFirst;
    while (state.fds.has(fd)) fd++;
    state.fds.set(fd, entry);
    bump(entry.end === "read" ? entry.pipe.readers : entry.pipe.writers, state.pid, 1);
    return fd;
  }

  #end(state: PidState, fd: number, end: "read" | "write" | null, what: string): FdEntry {
    const entry = state.fds.get(fd);
    if (entry === undefined) throw new KernelError("EBADF", `${what}: descriptor ${fd} is not open`);
    if (end !== null && entry.end !== end) {
      throw new KernelError(
        "EBADF",
        `${what}: descriptor ${fd} is not open for ${end === "read" ? "reading" : "writing"}`,
      );
    }
    return entry;
  }
}
