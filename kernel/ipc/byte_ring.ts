/**
 * A bounded byte ring kept in one arena slab. The slab is allocated on the
 * first write, grows by doubling up to the bound, and is freed whenever the
 * ring drains, so an idle pipe holds no arena bytes.
 *
 * @module
 */

import { PayloadStore, type Slab, type SlabOwner } from "./store.ts";

/** A byte FIFO of at most `bytesMax` bytes stored in the arena. */
export class ByteRing {
  readonly bytesMax: number;
  #store: PayloadStore;
  #owner: SlabOwner;
  #slab: Slab | null = null;
  #head = 0;
  #length = 0;
  #minBytes: number;

  /**
   * @param store arena access
   * @param owner the object the ring's slab belongs to
   * @param bytesMax most bytes held
   * @param minBytes first allocation size
   */
  constructor(store: PayloadStore, owner: SlabOwner, bytesMax: number, minBytes: number) {
    this.#store = store;
    this.#owner = owner;
    this.bytesMax = bytesMax;
    this.#minBytes = Math.min(minBytes, bytesMax);
  }

  /** Bytes buffered. */
  get length(): number {
    return this.#length;
  }

  /** Bytes that can still be written. */
  get free(): number {
    return this.bytesMax - this.#length;
  }

  /**
   * Append all of `data` (caller ensures `data.length <= free`), growing the
   * slab charged to `pid` as needed.
   *
   * @throws {KernelError} `ENOMEM` if the arena refuses the growth (nothing is written)
   */
  write(data: Uint8Array, pid: number, tenant: string): void {
    if (data.length === 0) return;
    if (data.length > this.free) throw new Error("ByteRing.write: over capacity");
    this.#reserve(this.#length + data.length, pid, tenant);
    const ring = this.#store.view(this.#slab!);
    const size = ring.length;
    const tail = (this.#head + this.#length) % size;
    const first = Math.min(data.length, size - tail);
    ring.set(data.subarray(0, first), tail);
    if (first < data.length) ring.set(data.subarray(first), 0);
    this.#length += data.length;
  }

  /** Remove and return up to `max` bytes from the front. */
  read(max: number): Uint8Array {
    const n = Math.min(max, this.#length);
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const ring = this.#store.view(this.#slab!);
    const size = ring.length;
    const first = Math.min(n, size - this.#head);
    out.set(ring.subarray(this.#head, this.#head + first));
    if (first < n) out.set(ring.subarray(0, n - first), first);
    this.#head = (this.#head + n) % size;
    this.#length -= n;
    if (this.#length === 0) this.clear();
    return out;
  }

  /** Drop every byte and free the slab. */
  clear(): void {
    if (this.#slab !== null) this.#store.free(this.#slab);
    this.#slab = null;
    this.#head = 0;
    this.#length = 0;
  }

  #reserve(needed: number, pid: number, tenant: string): void {
    const current = this.#slab === null ? 0 : this.#slab.block.bytes;
    if (needed <= current) return;
    let size = Math.max(this.#minBytes, current);
    while (size < needed) size *= 2;
    size = Math.min(size, this.bytesMax);
    const next = this.#store.alloc(size, pid, this.#slab?.block.tenant ?? tenant, this.#owner);
    if (this.#slab !== null) {
      const old = this.#store.view(this.#slab);
      const view = this.#store.view(next);
      const first = Math.min(this.#length, old.length - this.#head);
      view.set(old.subarray(this.#head, this.#head + first));
      if (first < this.#length) view.set(old.subarray(0, this.#length - first), first);
      this.#store.free(this.#slab);
    }
    this.#slab = next;
    this.#head = 0;
  }
}
