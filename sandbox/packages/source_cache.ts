/**
 * Verified bundle text kept in memory, keyed by its SHA-256 (so a package
 * replaced by another version, or re-added, never serves a stale text),
 * bounded by total bytes: the least recently used text goes first. A text
 * larger than the whole bound is not kept.
 *
 * @module
 */

import { BoundedMap } from "../../lib/mod.ts";
import { packageCacheBytesMax } from "./limits.ts";

interface Entry {
  text: string;
  bytes: number;
}

/** See the module doc. */
export class SourceCache {
  /** Bytes held. */
  bytes = 0;
  /** Texts dropped to make room. */
  evicted = 0;
  readonly bytesMax: number;
  #map: BoundedMap<string, Entry>;

  /** @param bytesMax total bytes kept @default packageCacheBytesMax */
  constructor(bytesMax: number = packageCacheBytesMax) {
    this.bytesMax = bytesMax;
    // The byte bound is the binding one; the entry bound only backs it (a bundle is at least one byte).
    this.#map = new BoundedMap({
      max: Math.max(1, bytesMax),
      onEject: (_key, entry) => {
        this.bytes -= entry.bytes;
        this.evicted++;
      },
    });
  }

  /**
   * The text of `sha256`, marking it recently used.
   *
   * @example
   * ```ts
   * import { SourceCache } from "./source_cache.ts";
   * new SourceCache().get("e3b0c442…"); // undefined
   * ```
   */
  get(sha256: string): string | undefined {
    return this.#map.get(sha256)?.text;
  }

  /**
   * Keep `text` (of `bytes` bytes on disk) under `sha256`, dropping the least recently used to make room.
   *
   * @returns whether it is kept (not when larger than `bytesMax`)
   * @example
   * ```ts
   * import { SourceCache } from "./source_cache.ts";
   * const cache = new SourceCache(1024);
   * cache.set("ab…", "export {};", 10); // true
   * ```
   */
  set(sha256: string, text: string, bytes: number): boolean {
    if (bytes > this.bytesMax) return false;
    const old = this.#map.peek(sha256);
    if (old !== undefined) {
      this.#map.delete(sha256);
      this.bytes -= old.bytes;
    }
    for (const [key, entry] of this.#map.entries()) {
      if (this.bytes + bytes <= this.bytesMax) break;
      this.#map.delete(key);
      this.bytes -= entry.bytes;
      this.evicted++;
    }
    this.#map.set(sha256, { text, bytes });
    this.bytes += bytes;
    return true;
  }
}
