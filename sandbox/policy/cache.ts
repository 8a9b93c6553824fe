/**
 * The decision cache: layer 4 of confinement.
 *
 * ## ⚠ A cached allow is NOT a licence to skip the use-time path re-check
 *
 * The cache remembers what the *policy* said about a (pid, call, resource,
 * epoch). It knows nothing about the file system. Between the decision and
 * the use, a directory can be swapped for a symlink pointing outside the
 * workspace; the path layer must resolve and re-check what is actually
 * opened **on every call, hit or miss**. A hit only saves the rule
 * evaluation, never the path check. (Cache poisoning by swapping a
 * directory for a symlink must fail — that is tested where the path layer
 * lives.)
 *
 * Further obligations on the caller:
 * - `resource` must encode **every** request field the decision depends on
 *   (use `resourceKey()` from `request.ts`); a key without the method would
 *   let a cached `GET` allow answer a `DELETE`.
 * - `epoch` must only grow (bump it on every live policy update); an
 *   entry only answers a lookup under exactly its own epoch.
 * - call {@linkcode DecisionCache.invalidatePid} when a pid exits and
 *   before a pid is reused: pids are recycled, and a new process must not
 *   inherit its predecessor's decisions.
 * - decisions with `cacheable: false` (rate-limited, invalid) are refused
 *   by {@linkcode DecisionCache.set}: caching them would bypass the rate
 *   limit.
 *
 * Overflow: least-recently-used entries are evicted (counted); expired
 * entries are dropped when looked up (counted).
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";
import type { Decision } from "./decision.ts";
import { cacheEntriesMaxLimit, cacheTtlMsMax } from "./limits.ts";

/** Options of {@linkcode DecisionCache}. */
export interface DecisionCacheOptions {
  /** How long an entry lives after it is set, in ms (1..{@linkcode cacheTtlMsMax}). */
  readonly ttlMs: number;
  /** Most entries held (1..{@linkcode cacheEntriesMaxLimit}); LRU beyond. */
  readonly entriesMax: number;
  /**
   * Monotonic clock in milliseconds.
   * @default {() => performance.now()}
   */
  readonly clock?: () => number;
}

/** Counters of a {@linkcode DecisionCache}. */
export interface DecisionCacheStats {
  /** Lookups answered from the cache. */
  readonly hits: number;
  /** Lookups not answered (absent or expired). */
  readonly misses: number;
  /** Entries pushed out by the LRU bound. */
  readonly evictions: number;
  /** Entries found expired on lookup. */
  readonly expirations: number;
  /** Entries removed by `invalidatePid` or `clear`. */
  readonly invalidations: number;
  /** Entries held now. */
  readonly size: number;
}

interface Entry {
  readonly pid: number;
  readonly call: string;
  readonly resource: string;
  readonly epoch: number;
  readonly decision: Decision;
  readonly expiresAt: number;
  /** Intrusive LRU list: `prev` is older, `next` is newer. */
  prev: Entry | null;
  next: Entry | null;
}

function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * TTL + LRU cache of policy decisions keyed by (pid, call, resource,
 * epoch). **A hit never replaces the use-time path re-check** (see the
 * module doc).
 *
 * Layout: pid → call → resource → entry, so a lookup hashes the strings
 * the caller already has instead of building a composite key; entries
 * sit on an intrusive doubly linked list in recency order, so a hit is
 * re-ordered and the oldest entry evicted without further hashing. One
 * entry is kept per (pid, call, resource): a lookup under a newer epoch
 * drops the older entry (epochs only grow).
 *
 * @example
 * ```ts
 * import { compilePolicy, evaluate, resourceKey } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.read"], paths: ["src/**"] },
 * ] });
 * const cache = new DecisionCache({ ttlMs: 1000, entriesMax: 10_000 });
 * const pid = 7, epoch = 1;
 * const request = { call: "fs.read", path: "src/a.ts" };
 * const resource = resourceKey(request);
 * const decision = cache.get(pid, request.call, resource, epoch) ??
 *   evaluate(policy, request);
 * cache.set(pid, request.call, resource, epoch, decision);
 * // …and still re-check the real path at use time.
 * ```
 */
export class DecisionCache {
  readonly #ttlMs: number;
  readonly #entriesMax: number;
  readonly #clock: () => number;
  readonly #byPid = new Map<number, Map<string, Map<string, Entry>>>();
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
  #size = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;
  #invalidations = 0;

  /**
   * @param options TTL, size bound and clock
   * @throws {RangeError} if `ttlMs` or `entriesMax` is out of range
   */
  constructor(options: DecisionCacheOptions) {
    const { ttlMs, entriesMax } = options;
    assert(
      Number.isFinite(ttlMs) && ttlMs > 0 && ttlMs <= cacheTtlMsMax,
      "DecisionCache: bad ttlMs",
      RangeError,
    );
    assert(
      Number.isSafeInteger(entriesMax) && entriesMax >= 1 &&
        entriesMax <= cacheEntriesMaxLimit,
      "DecisionCache: bad entriesMax",
      RangeError,
    );
    this.#ttlMs = ttlMs;
    this.#entriesMax = entriesMax;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /**
   * Looks a decision up and marks it recently used.
   *
   * @param pid the calling process
   * @param call the syscall name
   * @param resource `resourceKey(request)`
   * @param epoch the current policy epoch
   * @param nowMs the time now, if the caller has already read the clock
   * (saves a clock read on the hot path); default: the cache's clock
   * @returns the cached decision, or `undefined` on a miss
   * @throws {RangeError} if `pid` or `epoch` is not a safe integer >= 0
   */
  get(
    pid: number,
    call: string,
    resource: string,
    epoch: number,
    nowMs?: number,
  ): Decision | undefined {
    assert(isId(pid) && isId(epoch), "DecisionCache: pid and epoch must be integers >= 0", RangeError);
    const entry = this.#byPid.get(pid)?.get(call)?.get(resource);
    if (entry === undefined || entry.epoch !== epoch) {
      if (entry !== undefined && entry.epoch < epoch) this.#remove(entry);
      this.#misses++;
      return undefined;
    }
    // `!(now < expiresAt)` also expires entries under a NaN clock.
    if (!((nowMs ?? this.#clock()) < entry.expiresAt)) {
      this.#remove(entry);
      this.#expirations++;
      this.#misses++;
      return undefined;
    }
    if (entry !== this.#newest) {
      this.#unlink(entry);
      this.#append(entry);
    }
    this.#hits++;
    return entry.decision;
  }

  /**
   * Stores a decision unless it is not cacheable, replacing any entry for
   * the same (pid, call, resource); evicts LRU entries beyond `entriesMax`.
   *
   * @param pid the calling process
   * @param call the syscall name
   * @param resource `resourceKey(request)`
   * @param epoch the policy epoch the decision was made under
   * @param decision the decision
   * @param nowMs the time now, if the caller has already read the clock
   * @returns whether it was stored (`false` when `cacheable` is false)
   * @throws {RangeError} if `pid` or `epoch` is not a safe integer >= 0
   */
  set(
    pid: number,
    call: string,
    resource: string,
    epoch: number,
    decision: Decision,
    nowMs?: number,
  ): boolean {
    assert(isId(pid) && isId(epoch), "DecisionCache: pid and epoch must be integers >= 0", RangeError);
    if (decision.cacheable !== true) return false;
    let calls = this.#byPid.get(pid);
    if (calls === undefined) this.#byPid.set(pid, calls = new Map());
    let resources = calls.get(call);
    if (resources === undefined) calls.set(call, resources = new Map());
    const old = resources.get(resource);
    if (old !== undefined) this.#unlink(old);
    else this.#size++;
    const expiresAt = (nowMs ?? this.#clock()) + this.#ttlMs;
    const entry: Entry = {
      pid,
      call,
      resource,
      epoch,
      decision,
      expiresAt,
      prev: null,
      next: null,
    };
    resources.set(resource, entry);
    this.#append(entry);
    while (this.#size > this.#entriesMax && this.#oldest !== null) {
      this.#remove(this.#oldest);
      this.#evictions++;
    }
    return true;
  }

  /**
   * Drops every entry of `pid` (on exit, on capability change, before reuse).
   *
   * @param pid the process
   * @returns how many entries were dropped
   */
  invalidatePid(pid: number): number {
    const calls = this.#byPid.get(pid);
    if (calls === undefined) return 0;
    let dropped = 0;
    for (const resources of calls.values()) {
      for (const entry of resources.values()) {
        this.#unlink(entry);
        dropped++;
      }
    }
    this.#byPid.delete(pid);
    this.#size -= dropped;
    this.#invalidations += dropped;
    return dropped;
  }

  /** Drops every entry (e.g. on a policy update, besides bumping the epoch). */
  clear(): void {
    this.#invalidations += this.#size;
    this.#byPid.clear();
    this.#oldest = this.#newest = null;
    this.#size = 0;
  }

  /**
   * A snapshot of the counters.
   *
   * @returns hits, misses, evictions, expirations, invalidations and size
   */
  stats(): DecisionCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      expirations: this.#expirations,
      invalidations: this.#invalidations,
      size: this.#size,
    };
  }

  #append(entry: Entry): void {
    entry.prev = this.#newest;
    entry.next = null;
    if (this.#newest !== null) this.#newest.next = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.prev !== null) entry.prev.next = entry.next;
    else this.#oldest = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    else this.#newest = entry.prev;
    entry.prev = entry.next = null;
  }

  /** Unlinks `entry` and removes it (and emptied maps) from the index. */
  #remove(entry: Entry): void {
    this.#unlink(entry);
    this.#size--;
    const calls = this.#byPid.get(entry.pid);
    const resources = calls?.get(entry.call);
    if (calls === undefined || resources === undefined) return;
    resources.delete(entry.resource);
    if (resources.size > 0) return;
    calls.delete(entry.call);
    if (calls.size === 0) this.#byPid.delete(entry.pid);
  }
}
