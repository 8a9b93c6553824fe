/**
 * Tallies of the open anomaly window, one per series, that the hub counts
 * into on its hot path instead of looking a key up in a
 * {@linkcode RateTracker} per event: the hub holds each agent's tallies
 * (syscalls, denials, output) on the agent's own record and each call's
 * latency tally by name id, so counting an event is a compare and two
 * additions. A tally hands its window to the tracker when an event lands in
 * a later window, and every open tally is handed over by `flush` (the hub
 * does it before the tracker closes windows), so the tracker sees the same
 * windows, counts and sums as if every event had been recorded one by one.
 *
 * @module
 */

import type { RateTracker } from "./anomaly.ts";

/** One series' events in its open window. */
export class WindowTally {
  /** Start and end of the open window, ms (`endMs` -Infinity: none open). */
  startMs = 0;
  endMs = -Infinity;
  /** Events in the open window and the sum of their values. */
  count = 0;
  sum = 0;

  /** @param key the series' key in the tracker */
  constructor(readonly key: string) {}
}

/**
 * The tallies that feed one {@linkcode RateTracker}.
 *
 * @example
 * ```ts
 * import { RateTracker } from "./anomaly.ts";
 * import { Tallies, WindowTally } from "./window_tally.ts";
 * const seen: number[] = [];
 * const tracker = new RateTracker((_key, perSec) => seen.push(perSec));
 * const tallies = new Tallies(tracker);
 * const t = new WindowTally("rate:syscalls:7");
 * for (let i = 0; i < 10; i++) tallies.add(t, 1000 + i, 0);
 * tallies.flush();
 * tracker.flush(1100); // seen: [100] (10 events in a 100 ms window)
 * ```
 */
export class Tallies {
  readonly #tracker: RateTracker;
  readonly #windowMs: number;
  /** Tallies that opened a window since the last `flush`. */
  readonly #open = new Set<WindowTally>();

  /** @param tracker where closed windows go (its `windowMs` is the tallies' window) */
  constructor(tracker: RateTracker) {
    this.#tracker = tracker;
    this.#windowMs = tracker.windowMs;
  }

  /**
   * Count one event of value `value` at `nowMs` into `tally`.
   *
   * @param tally the series' tally
   * @param nowMs the event's time, ms
   * @param value what the series averages per window (0 for a pure rate)
   */
  add(tally: WindowTally, nowMs: number, value: number): void {
    this.addMany(tally, nowMs, 1, value);
  }

  /**
   * Count `count` events at `nowMs`, whose values sum to `sum`, into `tally`.
   *
   * @param tally the series' tally
   * @param nowMs the events' time, ms
   * @param count events
   * @param sum the sum of their values
   */
  addMany(tally: WindowTally, nowMs: number, count: number, sum: number): void {
    if (nowMs >= tally.endMs || nowMs < tally.startMs) this.#roll(tally, nowMs);
    tally.count += count;
    tally.sum += sum;
  }

  /** Hand every open tally to the tracker; the next event of each opens its window again. */
  flush(): void {
    for (const tally of this.#open) {
      this.#handOver(tally);
      tally.endMs = -Infinity;
    }
    this.#open.clear();
  }

  /** Forget a tally (its series ended): what it counted is dropped. */
  drop(tally: WindowTally): void {
    this.#open.delete(tally);
    tally.count = 0;
    tally.sum = 0;
    tally.endMs = -Infinity;
  }

  #roll(tally: WindowTally, nowMs: number): void {
    this.#handOver(tally);
    tally.startMs = Math.floor(nowMs / this.#windowMs) * this.#windowMs;
    tally.endMs = tally.startMs + this.#windowMs;
    this.#open.add(tally);
  }

  #handOver(tally: WindowTally): void {
    if (tally.count > 0) this.#tracker.recordMany(tally.key, tally.startMs, tally.count, tally.sum);
    tally.count = 0;
    tally.sum = 0;
  }
}
