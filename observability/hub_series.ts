/**
 * What the hub counts per series on its hot path: each agent's syscall,
 * denial and output rates and each call's latency, as tallies of the open
 * anomaly window (`window_tally.ts`) held on the agent's own record (found
 * by uid, the last one used without a lookup) and by call name id — no map
 * keyed by a string per event. Successful calls alike (one agent, one call,
 * one latency, one time: the calls of a batch slice share the dispatcher's
 * clock reading) are counted as one group and handed over together, to the
 * tallies and to the Prometheus series, when the group ends: a different
 * call comes, the microtask ends, the sampler re-tunes, the agent exits or
 * `/metrics` is read (`flushOk`).
 *
 * @module
 */

import { RateTracker } from "./anomaly.ts";
import type { Interner } from "./interner.ts";
import type { Subject } from "./kind_spec.ts";
import { Tallies, WindowTally } from "./window_tally.ts";

/** Width of the anomaly windows, ms. */
export const anomalyWindowMs = 100;
/** One in this many groups handed over is timed (for the hub's overhead estimate). */
export const groupTimingEvery = 8;
/** Agents whose anomaly tallies the hub holds at once; past it the oldest is forgotten. */
export const agentSeriesMax = 4096;

/** One agent's anomaly tallies (what the hot path counts into), found by uid. */
interface AgentSeries {
  readonly uid: number;
  readonly syscalls: WindowTally;
  readonly denials: WindowTally;
  readonly output: WindowTally;
}

/** The open group of successful calls alike (see the module doc). */
interface OkGroup {
  s: Subject | undefined;
  nameId: number;
  latencyUs: number;
  atMs: number;
  count: number;
}

/** Where a closed window goes (an anomaly check), and where a group of calls is metered. */
export interface SeriesSinks {
  latency(series: string, meanUs: number): void;
  rate(series: string, perSec: number): void;
  /** Count `n` successful calls alike into the Prometheus series (when metered). */
  meterOk(s: Subject, nameId: number, latencyUs: number, atMs: number, n: number): void;
}

/** See the module doc. */
export class HubSeries {
  readonly latencyTracker: RateTracker;
  readonly rateTracker: RateTracker;
  /** Groups handed over. */
  okFlushes = 0;
  /** Estimated CPU time of handing groups over, ms (one in `groupTimingEvery` is timed). */
  overheadMs = 0;
  readonly #latencyTallies: Tallies;
  readonly #rateTallies: Tallies;
  readonly #names: Interner;
  readonly #clockMs: number;
  readonly #sinks: SeriesSinks;
  /** Latency tally of each call, by name id (kernel-defined names only: bounded by `knownCallsMax`). */
  readonly #latencyByName: (WindowTally | undefined)[] = [];
  readonly #agents = new Map<number, AgentSeries>();
  #last: AgentSeries | undefined;
  /** Series key → its agent (what an anomaly event names). */
  readonly #subjects = new Map<string, Subject>();
  readonly #ok: OkGroup = { s: undefined, nameId: 0, latencyUs: 0, atMs: 0, count: 0 };
  #okFlushQueued = false;
  readonly #okFlushTask = () => {
    this.#okFlushQueued = false;
    this.flushOk();
  };

  /**
   * @param names the hub's name table (latency series are named by call)
   * @param sinks where windows and groups go
   * @param clockMs what one `performance.now()` costs, ms (subtracted from timed samples)
   */
  constructor(names: Interner, sinks: SeriesSinks, clockMs: number) {
    this.#clockMs = clockMs;
    this.#names = names;
    this.#sinks = sinks;
    this.latencyTracker = new RateTracker((key, _rate, count, mean) => {
      if (count > 0) sinks.latency(key, mean);
    }, { windowMs: anomalyWindowMs });
    this.rateTracker = new RateTracker((key, rate) => sinks.rate(key, rate), { windowMs: anomalyWindowMs });
    this.#latencyTallies = new Tallies(this.latencyTracker);
    this.#rateTallies = new Tallies(this.rateTracker);
  }

  /** The agent a series key belongs to. */
  subjectOf(series: string): Subject | undefined {
    return this.#subjects.get(series);
  }

  /** Count one successful call into the open group of calls alike, or end that group and open one. */
  okCall(s: Subject, nameId: number, latencyUs: number, atMs: number): void {
    const g = this.#ok;
    if (g.count > 0) {
      if (g.s === s && g.nameId === nameId && g.latencyUs === latencyUs && g.atMs === atMs) {
        g.count++;
        return;
      }
      this.flushOk();
    }
    g.s = s;
    g.nameId = nameId;
    g.latencyUs = latencyUs;
    g.atMs = atMs;
    g.count = 1;
    if (!this.#okFlushQueued) {
      this.#okFlushQueued = true;
      queueMicrotask(this.#okFlushTask);
    }
  }

  /** Count one failed call (not grouped: errors are rare and each is metered with its errno). */
  failedCall(s: Subject, nameId: number, latencyUs: number, atMs: number): void {
    this.#rateTallies.add(this.#agent(s).syscalls, atMs, 0);
    this.#latencyTallies.add(this.#latencyTally(nameId), atMs, latencyUs);
  }

  /** A denial or output of the agent, into its rate series. */
  denial(s: Subject, atMs: number): void {
    this.#rateTallies.add(this.#agent(s).denials, atMs, 0);
  }

  output(s: Subject, atMs: number, chars: number): void {
    this.#rateTallies.add(this.#agent(s).output, atMs, chars);
  }

  /** Hand the open group of successful calls to the tallies and the series. */
  flushOk(): void {
    const g = this.#ok;
    const n = g.count;
    if (n === 0) return;
    const timed = ++this.okFlushes % groupTimingEvery === 0;
    const started = timed ? performance.now() : 0;
    const s = g.s!;
    g.count = 0;
    g.s = undefined;
    this.#rateTallies.addMany(this.#agent(s).syscalls, g.atMs, n, 0);
    this.#latencyTallies.addMany(this.#latencyTally(g.nameId), g.atMs, n, n * g.latencyUs);
    this.#sinks.meterOk(s, g.nameId, g.latencyUs, g.atMs, n);
    if (timed) this.overheadMs += Math.max(0, performance.now() - started - this.#clockMs) * groupTimingEvery;
  }

  /** Close every window that ended by `nowMs` (the sampler's timer). */
  flush(nowMs: number): void {
    this.flushOk();
    this.#latencyTallies.flush();
    this.#rateTallies.flush();
    this.latencyTracker.flush(nowMs);
    this.rateTracker.flush(nowMs);
  }

  /**
   * Forget an agent (it exited): what it counted is dropped.
   *
   * @returns its rate series' keys (the caller forgets their statistics)
   */
  forget(uid: number): string[] {
    this.flushOk();
    const keys = [`rate:syscalls:${uid}`, `rate:denials:${uid}`, `rate:output:${uid}`];
    const series = this.#agents.get(uid);
    if (series !== undefined) {
      this.#agents.delete(uid);
      if (this.#last === series) this.#last = undefined;
      for (const tally of [series.syscalls, series.denials, series.output]) this.#rateTallies.drop(tally);
    }
    for (const key of keys) {
      this.#subjects.delete(key);
      this.rateTracker.delete(key);
    }
    return keys;
  }

  /** The tallies of an agent, made on its first event. */
  #agent(s: Subject): AgentSeries {
    const last = this.#last;
    if (last !== undefined && last.uid === s.uid) return last;
    let series = this.#agents.get(s.uid);
    if (series === undefined) {
      if (this.#agents.size >= agentSeriesMax) this.forget(this.#agents.keys().next().value!);
      series = {
        uid: s.uid,
        syscalls: new WindowTally(`rate:syscalls:${s.uid}`),
        denials: new WindowTally(`rate:denials:${s.uid}`),
        output: new WindowTally(`rate:output:${s.uid}`),
      };
      this.#agents.set(s.uid, series);
      for (const tally of [series.syscalls, series.denials, series.output]) this.#subjects.set(tally.key, s);
    }
    this.#last = series;
    return series;
  }

  /** The latency tally of a call (by its name id: `(unknown)` for every call outside the table). */
  #latencyTally(nameId: number): WindowTally {
    let tally = this.#latencyByName[nameId];
    if (tally === undefined) {
      tally = new WindowTally(this.#names.name(nameId));
      this.#latencyByName[nameId] = tally;
    }
    return tally;
  }
}
