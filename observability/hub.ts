/**
 * The kernel's observability hub: one event ring every subsystem emits into,
 * with adaptive sampling, streaming anomaly detection and a self-measured
 * overhead budget.
 *
 * - Every event goes into the 65,536-slot ring (struct-of-arrays, no
 *   allocation per event). Readers (SSE, CLI trace, tests) keep their own
 *   cursors; a slow reader loses events and is told how many.
 * - Syscall events are sampled by category (`syscall`; errors, denials,
 *   lifecycle, limits and anomalies are always kept). The hub times a
 *   fraction of its own work, compares it with the supervisor's CPU time and
 *   lowers or raises the rates to keep its share under 2 %.
 * - Anomalies: per-window latency of each call and per-window syscall,
 *   denial and output rates of each agent feed Welford detectors; an alarm
 *   is an `anomaly` event naming the series, value, mean and z.
 *
 * Nothing here throws into the kernel.
 *
 * @module
 */

import type { Errno } from "../kernel/errno.ts";
import { AnomalyDetector, anomalyProfiles, RateTracker } from "./anomaly.ts";
import { errnoId, EventKind, EventRing, EventView, Interner } from "./ring.ts";
import { AdaptiveSampler } from "./sampler.ts";
import { summarizeArgs } from "./summarize.ts";

/** How often the sampler is re-tuned against the measured overhead, ms. */
export const samplerAdjustMs = 250;
/** One in this many hub calls is timed to estimate the hub's own CPU time. */
export const overheadTimingEvery = 64;
/** Width of the anomaly windows, ms. */
export const anomalyWindowMs = 100;

/** Who an event is about. */
export interface Subject {
  pid: number;
  /** Unique per spawn (pids are recycled). */
  uid: number;
  tenant: string;
  causality: number;
}

/** An anomaly as reported to listeners. */
export interface AnomalyEvent {
  series: string;
  value: number;
  mean: number;
  z: number;
  pid: number;
  tenant: string;
}

/** The hub. */
export class ObservabilityHub {
  readonly ring: EventRing;
  readonly names = new Interner();
  readonly tenants = new Interner();
  readonly sampler = new AdaptiveSampler();
  readonly latency = new AnomalyDetector(anomalyProfiles.latency);
  readonly rates = new AnomalyDetector(anomalyProfiles.rate);
  /** Events not written to the ring because sampling dropped them. */
  sampledOut = 0;
  /** Anomaly events raised. */
  anomalies = 0;
  /** Estimated hub CPU time, ms, and the supervisor CPU time it is compared with. */
  overheadMs = 0;
  #enabled: boolean;
  #calls = 0;
  #latencyTracker: RateTracker;
  #rateTracker: RateTracker;
  #subjects = new Map<string, Subject>();
  #keysBySubject = new WeakMap<Subject, { syscalls: string; denials: string; output: string }>();
  #wakers = new Set<() => void>();
  #wakeScheduled = false;
  #cpuAtAdjust = 0;
  #overheadAtAdjust = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #onAnomaly: ((a: AnomalyEvent) => void) | undefined;
  /** What one `performance.now()` costs here, ms: subtracted from timed samples. */
  #clockMs = clockCostMs();

  /** @param options ring slots, whether observability is on, anomaly listener */
  constructor(options: { slots?: number; enabled?: boolean; onAnomaly?: (a: AnomalyEvent) => void } = {}) {
    this.ring = new EventRing({ slots: options.slots });
    this.#enabled = options.enabled ?? true;
    this.#onAnomaly = options.onAnomaly;
    this.#latencyTracker = new RateTracker((key, _rate, count, mean) => {
      if (count > 0) this.#check(this.latency, key, mean);
    }, { windowMs: anomalyWindowMs });
    this.#rateTracker = new RateTracker((key, rate) => this.#check(this.rates, key, rate), {
      windowMs: anomalyWindowMs,
    });
    if (this.#enabled) {
      this.#timer = setInterval(() => this.#adjust(), samplerAdjustMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Whether the hub records anything (off = a measured baseline). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Stop the sampler's timer. */
  close(): void {
    clearInterval(this.#timer);
  }

  /** Be told (at most once per microtask) that new events are in the ring. */
  onEmit(wake: () => void): () => void {
    this.#wakers.add(wake);
    return () => this.#wakers.delete(wake);
  }

  /** One finished syscall; `args` are summarised only if the event is kept. */
  syscall(s: Subject, call: string, errno: Errno | null, latencyUs: number, bytes: number, args: unknown): void {
    if (!this.#enabled) return;
    const timed = ++this.#calls % overheadTimingEvery === 0;
    const started = timed ? performance.now() : 0;
    const now = Date.now();
    this.#rateTracker.record(this.#keys(s).syscalls, now);
    this.#latencyTracker.record(call, now, latencyUs);
    if (this.sampler.shouldSample(errno === null ? "syscall" : "error")) {
      const detail = summarizeArgs(args);
      this.#emit(
        now,
        EventKind.syscall,
        s,
        this.names.intern(call),
        errnoId(errno ?? undefined),
        latencyUs,
        bytes,
        detail,
      );
    } else {
      this.sampledOut++;
    }
    if (timed) this.overheadMs += Math.max(0, performance.now() - started - this.#clockMs) * overheadTimingEvery;
  }

  /** A refused call, with the layer that refused it. */
  denial(s: Subject, call: string, layer: string, errno: Errno, message: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    this.#rateTracker.record(this.#keys(s).denials, now);
    this.#emit(now, EventKind.denial, s, this.names.intern(call), errnoId(errno), 0, 0, `${layer}: ${message}`);
  }

  /** A lifecycle transition. */
  lifecycle(s: Subject, from: string, to: string): void {
    if (!this.#enabled) return;
    this.#emit(Date.now(), EventKind.lifecycle, s, this.names.intern(`${from}>${to}`), 0, 0, 0, undefined);
  }

  /** How an agent ended; limit reasons are also `limit` events. */
  exit(s: Subject, reason: string, exitCode: number, message: string | undefined): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (reason === "cpu" || reason === "memory" || reason === "timeout" || reason === "output") {
      this.#emit(now, EventKind.limit, s, this.names.intern(reason), 0, 0, 0, message);
    }
    this.#emit(now, EventKind.lifecycle, s, this.names.intern(`exit:${reason}`), 0, 0, exitCode, message);
    for (const prefix of ["rate:syscalls:", "rate:denials:", "rate:output:"]) {
      const key = `${prefix}${s.uid}`;
      this.#subjects.delete(key);
      this.#rateTracker.delete(key);
      this.rates.delete(key);
    }
  }

  /** Captured output. */
  output(s: Subject, fd: 1 | 2, data: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    this.#rateTracker.record(this.#keys(s).output, now, data.length);
    this.#emit(now, EventKind.output, s, fd, 0, 0, data.length, data);
  }

  /** What cleanup released for an exited agent. */
  cleanup(s: Subject, resources: number, bytes: number, errors: number): void {
    if (!this.#enabled) return;
    this.#emit(
      Date.now(),
      EventKind.cleanup,
      s,
      this.names.intern("cleanup"),
      errors > 0 ? errnoId("EIO") : 0,
      0,
      bytes,
      `${resources} resources`,
    );
  }

  /** A quota or limit hit outside any agent (e.g. a refused spawn). */
  limit(tenant: string, name: string, detail: string): void {
    if (!this.#enabled) return;
    const s = { pid: 0, uid: 0, tenant, causality: 0 };
    this.#emit(Date.now(), EventKind.limit, s, this.names.intern(name), 0, 0, 0, detail);
  }

  /** A policy change (epoch bump). */
  policy(tenant: string, scope: string, epoch: number): void {
    if (!this.#enabled) return;
    const s = { pid: 0, uid: 0, tenant, causality: 0 };
    this.#emit(Date.now(), EventKind.policy, s, this.names.intern(`policy:${scope}`), 0, 0, epoch, undefined);
  }

  /** Materialise the event at `view` (reused by readers). */
  view(): EventView {
    return new EventView();
  }

  /** The series keys of an agent, made once per subject (the hot path only looks them up). */
  #keys(s: Subject): { syscalls: string; denials: string; output: string } {
    let keys = this.#keysBySubject.get(s);
    if (keys === undefined) {
      keys = { syscalls: `rate:syscalls:${s.uid}`, denials: `rate:denials:${s.uid}`, output: `rate:output:${s.uid}` };
      this.#keysBySubject.set(s, keys);
      for (const key of Object.values(keys)) this.#subjects.set(key, s);
    }
    return keys;
  }

  #emit(
    now: number,
    kind: number,
    s: Subject,
    nameId: number,
    errno: number,
    latencyUs: number,
    bytes: number,
    detail: string | undefined,
  ): void {
    this.ring.emitAt(
      now,
      kind,
      s.pid,
      this.tenants.intern(s.tenant),
      s.causality,
      nameId,
      errno,
      latencyUs,
      bytes,
      detail,
      s.uid,
    );
    if (this.#wakers.size > 0 && !this.#wakeScheduled) {
      this.#wakeScheduled = true;
      queueMicrotask(() => {
        this.#wakeScheduled = false;
        for (const wake of this.#wakers) wake();
      });
    }
  }

  #check(detector: AnomalyDetector, series: string, value: number): void {
    const score = detector.observe(series, value);
    if (score === undefined) return;
    this.anomalies++;
    const s = this.#subjects.get(series) ?? { pid: 0, uid: 0, tenant: "", causality: 0 };
    const detail = `${series} value=${value.toFixed(1)} mean=${score.mean.toFixed(1)} z=${score.z.toFixed(1)}`;
    this.#emit(Date.now(), EventKind.anomaly, s, this.names.intern("anomaly"), 0, 0, value, detail);
    this.#onAnomaly?.({ series, value, mean: score.mean, z: score.z, pid: s.pid, tenant: s.tenant });
  }

  #adjust(): void {
    const now = Date.now();
    this.#latencyTracker.flush(now);
    this.#rateTracker.flush(now);
    const cpu = process.cpuUsage();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const kernelMs = cpuMs - this.#cpuAtAdjust;
    const obsMs = this.overheadMs - this.#overheadAtAdjust;
    this.#cpuAtAdjust = cpuMs;
    this.#overheadAtAdjust = this.overheadMs;
    if (kernelMs > 1) this.sampler.adjust(obsMs, kernelMs);
  }
}

/** Median cost of a `performance.now()` read, ms. */
function clockCostMs(): number {
  const samples: number[] = [];
  for (let i = 0; i < 101; i++) {
    const a = performance.now();
    const b = performance.now();
    samples.push(b - a);
  }
  samples.sort((x, y) => x - y);
  return samples[50];
}
