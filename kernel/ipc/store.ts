/**
 * The IPC view of the arena: every byte of agent data IPC keeps lives in a
 * `Slab` (a mutable reference to one arena block) charged to a pid. The store
 * indexes slabs by the pid charged, so that when a pid is released the slabs
 * it paid for inside objects that outlive it can be re-charged to another
 * holder (`rehome`).
 *
 * @module
 */

import type { Arena, ArenaBlock, ArenaOwner } from "../memory/mod.ts";
import { KernelError } from "../errno.ts";

/** A mutable reference to one arena block; `block` changes when the slab is re-homed. */
export interface Slab {
  block: ArenaBlock;
  /** The object the slab belongs to: asked for a new holder when the payer leaves. */
  readonly owner: SlabOwner;
}

/** An IPC object that holds slabs. */
export interface SlabOwner {
  /** A pid other than `leaving` that still holds the object, if any. */
  heir(leaving: number): number | undefined;
}

/** The pid that holds kernel-charged slabs when no heir can pay. */
export const kernelPid = 0;
/** The tenant charged as a last resort when re-homing (only if the tenant's own quota refuses). */
export const kernelTenant = "@kernel";

/** Allocates, views, frees and re-homes slabs. */
export class PayloadStore {
  readonly arena: Arena;
  #byPid = new Map<number, Set<Slab>>();
  #bytes = new Map<number, number>();

  /** @param arena where every byte is kept */
  constructor(arena: Arena) {
    this.arena = arena;
  }

  /**
   * A zeroed slab of `bytes` (> 0) charged to `pid` in `tenant`.
   *
   * @throws {KernelError} `ENOMEM` when the arena or a quota is full
   */
  alloc(bytes: number, pid: number, tenant: string, owner: SlabOwner): Slab {
    let block: ArenaBlock;
    try {
      block = this.arena.alloc(bytes, { pid, tenant });
    } catch (err) {
      if (err instanceof KernelError && err.code === "E2BIG") {
        throw new KernelError("ENOMEM", `ipc: ${bytes} bytes exceed the kernel arena`);
      }
      throw err;
    }
    const slab: Slab = { block, owner };
    this.#index(slab);
    return slab;
  }

  /** A slab holding a copy of `data` (non-empty). @throws {KernelError} `ENOMEM` */
  put(data: Uint8Array, pid: number, tenant: string, owner: SlabOwner): Slab {
    const slab = this.alloc(data.length, pid, tenant, owner);
    this.arena.view(slab.block).set(data);
    return slab;
  }

  /** The slab's bytes (aliases the arena; do not keep across frees). */
  view(slab: Slab): Uint8Array {
    return this.arena.view(slab.block);
  }

  /** Return the slab's block to the arena. */
  free(slab: Slab): void {
    this.#unindex(slab);
    this.arena.free(slab.block);
  }

  /** IPC bytes (by block capacity) charged to `pid`. */
  bytesOf(pid: number): number {
    return this.#bytes.get(pid) ?? 0;
  }

  /** Slabs charged to `pid`. */
  slabsOf(pid: number): number {
    return this.#byPid.get(pid)?.size ?? 0;
  }

  /**
   * Re-charge every slab `pid` pays for to an heir of its object (or to the
   * kernel pid when none can pay), so `pid` ends holding no IPC bytes.
   *
   * @returns bytes moved off `pid`
   */
  rehome(pid: number): number {
    const slabs = this.#byPid.get(pid);
    if (slabs === undefined) return 0;
    let moved = 0;
    for (const slab of [...slabs]) {
      moved += slab.block.capacity;
      const heir = slab.owner.heir(pid) ?? kernelPid;
      const tenant = slab.block.tenant;
      const copy = this.arena.view(slab.block).slice();
      this.free(slab);
      slab.block = this.#allocFirst(copy.length, [
        { pid: heir, tenant },
        // The heir's quota is full: the kernel keeps the bytes for the tenant
        // (the block just freed guarantees room and the tenant total is unchanged)...
        { pid: kernelPid, tenant },
        // ...unless the tenant's quota was lowered below its usage meanwhile.
        { pid: kernelPid, tenant: kernelTenant },
      ]);
      this.arena.view(slab.block).set(copy);
      this.#index(slab);
    }
    return moved;
  }

  #allocFirst(bytes: number, owners: ArenaOwner[]): ArenaBlock {
    for (let i = 0; i < owners.length - 1; i++) {
      try {
        return this.arena.alloc(bytes, owners[i]);
      } catch (err) {
        if (!(err instanceof KernelError && err.code === "ENOMEM")) throw err;
      }
    }
    return this.arena.alloc(bytes, owners[owners.length - 1]);
  }

  #index(slab: Slab): void {
    const pid = slab.block.pid;
    let set = this.#byPid.get(pid);
    if (set === undefined) this.#byPid.set(pid, set = new Set());
    set.add(slab);
    this.#bytes.set(pid, (this.#bytes.get(pid) ?? 0) + slab.block.capacity);
  }

  #unindex(slab: Slab): void {
    const pid = slab.block.pid;
    const set = this.#byPid.get(pid);
    if (set === undefined || !set.delete(slab)) throw new Error("ipc store: slab freed twice");
    if (set.size === 0) this.#byPid.delete(pid);
    const left = (this.#bytes.get(pid) ?? 0) - slab.block.capacity;
    if (left === 0) this.#bytes.delete(pid);
    else this.#bytes.set(pid, left);
  }
}
