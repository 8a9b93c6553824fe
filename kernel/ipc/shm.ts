/**
 * Shared memory segments: a fixed-size arena slab per segment, named by an
 * unguessable id within a tenant. The creator counts as attached; reading
 * and writing need an attachment (`EBADF` otherwise); the segment is freed
 * when its last attachment is detached. When the pid that pays for the slab
 * leaves, the slab is re-charged to another attached pid.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import type { Process } from "../process/mod.ts";
import type { IpcContext, PidState } from "./context.ts";
import { randomId } from "./ids.ts";
import { shmBytesMax } from "./limits.ts";
import type { Slab, SlabOwner } from "./store.ts";

/** One segment. */
export class Segment implements SlabOwner {
  readonly id = randomId("shm_");
  readonly tenant: string;
  readonly size: number;
  readonly attached = new Set<number>();
  slab: Slab | null = null;

  /** @param tenant owner @param size bytes */
  constructor(tenant: string, size: number) {
    this.tenant = tenant;
    this.size = size;
  }

  /** Another attached pid. */
  heir(leaving: number): number | undefined {
    for (const pid of this.attached) if (pid !== leaving) return pid;
    return undefined;
  }
}

/** The shared memory operations. */
export class SharedMemory {
  #ctx: IpcContext;

  /** @param ctx shared state */
  constructor(ctx: IpcContext) {
    this.#ctx = ctx;
  }

  /** Create a zeroed segment of `size` bytes attached to `proc`. */
  create(proc: Process, size: number): { id: string } {
    if (size <= 0) throw new KernelError("EINVAL", "ipc.shm.create: size must be positive");
    if (size > shmBytesMax) throw new KernelError("E2BIG", `ipc.shm.create: size exceeds ${shmBytesMax} bytes`);
    const state = this.#ctx.pidState(proc);
    this.#ctx.addObject(proc.tenant);
    const segment = new Segment(proc.tenant, size);
    try {
      segment.slab = this.#ctx.store.alloc(size, state.pid, state.tenant, segment);
    } catch (err) {
      this.#ctx.dropObject(proc.tenant);
      throw err;
    }
    this.#ctx.space(proc.tenant).segments.set(segment.id, segment);
    segment.attached.add(state.pid);
    state.segments.add(segment);
    return { id: segment.id };
  }

  /** Attach `proc` to segment `id` (idempotent); returns its size. */
  attach(proc: Process, id: string): { size: number } {
    const state = this.#ctx.pidState(proc);
    const segment = this.#lookup(state, id, "ipc.shm.attach");
    segment.attached.add(state.pid);
    state.segments.add(segment);
    return { size: segment.size };
  }

  /** Bytes `[offset, offset + length)` of the segment. */
  read(proc: Process, id: string, offset: number, length: number): Uint8Array {
    const segment = this.#attached(proc, id, "ipc.shm.read");
    this.#range(segment, offset, length, "ipc.shm.read");
    return this.#ctx.store.view(segment.slab!).slice(offset, offset + length);
  }

  /** Copy `data` into the segment at `offset`; returns bytes written. */
  write(proc: Process, id: string, offset: number, data: Uint8Array): number {
    const segment = this.#attached(proc, id, "ipc.shm.write");
    this.#range(segment, offset, data.length, "ipc.shm.write");
    this.#ctx.store.view(segment.slab!).set(data, offset);
    return data.length;
  }

  /** Detach `proc` from segment `id`. */
  detach(proc: Process, id: string): void {
    const state = this.#ctx.pidState(proc);
    this.#attached(proc, id, "ipc.shm.detach");
    this.release(state, this.#lookup(state, id, "ipc.shm.detach"));
  }

  /** Drop `state`'s attachment; frees the segment after the last one. */
  release(state: PidState, segment: Segment): void {
    state.segments.delete(segment);
    segment.attached.delete(state.pid);
    if (segment.attached.size > 0) return;
    if (segment.slab !== null) this.#ctx.store.free(segment.slab);
    segment.slab = null;
    this.#ctx.space(segment.tenant).segments.delete(segment.id);
    this.#ctx.dropObject(segment.tenant);
  }

  #attached(proc: Process, id: string, what: string): Segment {
    const state = this.#ctx.pidState(proc);
    const segment = this.#lookup(state, id, what);
    if (!segment.attached.has(state.pid)) throw new KernelError("EBADF", `${what}: segment is not attached`);
    return segment;
  }

  #range(segment: Segment, offset: number, length: number, what: string): void {
    if (offset > segment.size || length > segment.size - offset) {
      throw new KernelError("EINVAL", `${what}: range is outside the ${segment.size}-byte segment`);
    }
  }

  #lookup(state: PidState, id: string, what: string): Segment {
    const segment = this.#ctx.findSpace(state.tenant)?.segments.get(id);
    if (segment === undefined) throw new KernelError("ENOENT", `${what}: no such segment`);
    return segment;
  }
}
