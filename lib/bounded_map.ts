/**
 * The one bounded map: a `Map` with a maximum size that ejects its least
 * recently used entry (or one its owner says may go) when full, and counts
 * every ejection by a closed reason.
 *
 * @module
 */

/** Why an entry left the map without being deleted by its owner. */
export type EjectionReason = "evicted" | "refused";

/** Options of a {@linkcode BoundedMap}. */
export interface BoundedMapOptions<K, V> {
  /** Most entries held. */
  max: number;
  /** Whether an entry may be ejected to make room (default: any may). */
  ejectable?: (key: K, value: V) => boolean;
  /** Told about every ejection. */
  onEject?: (key: K, value: V, reason: EjectionReason) => void;
}

/** See the module doc. `get` marks an entry as recently used. */
export class BoundedMap<K, V> {
  readonly max: number;
  #map = new Map<K, V>();
  #ejectable: (key: K, value: V) => boolean;
  #onEject: ((key: K, value: V, reason: EjectionReason) => void) | undefined;
  /** Entries ejected to make room. */
  evicted = 0;
  /** Inserts refused because nothing could be ejected. */
  refused = 0;

  /** @param options size bound, ejection rule, listener */
  constructor(options: BoundedMapOptions<K, V>) {
    if (!(Number.isInteger(options.max) && options.max >= 1)) throw new Error("BoundedMap: max must be >= 1");
    this.max = options.max;
    this.#ejectable = options.ejectable ?? (() => true);
    this.#onEject = options.onEject;
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, marking it recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  /** The value of `key`, without touching its recency. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Whether `key` is held. */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /**
   * Set `key`; when full, eject the least recently used ejectable entry first.
   *
   * @returns false (and counts `refused`) when full and nothing may be ejected
   * @example
   * ```ts
   * const m = new BoundedMap<string, number>({ max: 1 });
   * m.set("a", 1);
   * m.set("b", 2); // ejects "a"
   * ```
   */
  set(key: K, value: V): boolean {
    if (this.#map.has(key)) {
      this.#map.delete(key);
    } else if (this.#map.size >= this.max && !this.#ejectOne()) {
      this.refused++;
      return false;
    }
    this.#map.set(key, value);
    return true;
  }

  /** Delete `key`; returns whether it was held. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Every entry, least recently used first. */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  /** Every value, least recently used first. */
  values(): IterableIterator<V> {
    return this.#map.values();
  }

  /** Drop everything (not counted as ejections). */
  clear(): void {
    this.#map.clear();
  }

  #ejectOne(): boolean {
    for (const [key, value] of this.#map) {
      if (!this.#ejectable(key, value)) continue;
      this.#map.delete(key);
      this.evicted++;
      this.#onEject?.(key, value, "evicted");
      return true;
    }
    return false;
  }
}
