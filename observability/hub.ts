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
 * - Names: the name table holds only names the kernel itself defines — the
 *   syscall table's call names (handed over once with `knownCalls`), the
 *   lifecycle transitions, exit reasons, limit and policy names. Any other
 *   call name an agent sends (a raw `sys.call("whatever")`) is recorded as
 *   the one shared `(unknown)` name, in the ring and in the latency
 *   detector, and counted in `unknownCalls`; so no agent can fill the table
 *   and push another tenant's events to "other", and an unknown name costs
 *   what a known one costs.
 *
 * Nothing here throws into the kernel.
 *
 * @module
 */

import type { Errno } from "../kernel/errno.ts";
import { type ExitReason, exitReasons, type ProcState, procStates } from "../kernel/process/lifecycle.ts";
import { AnomalyDetector, anomalyProfiles, RateTracker } from "./anomaly.ts";
import { errnoId, EventKind, EventRing, EventView, Interner } from "./ring.ts";
import { AdaptiveSampler } from "./sampler.ts";
import { summarizeArgs } from "./summarize.ts";

/** How often the sampler is re-tuned against the measured overhead, ms. */
export const samplerAdjustMs = 250;
/** One in this many hub calls is timed to estimate the hub's own CPU time. */
export const overheadTimingEvery = 64;
/**
 * Characters of output the ring may hold in its events (it holds them by
 * reference: without a budget, 65,536 events of 1 MiB writes would be
 * 64 GiB). Past it, an output event keeps `truncatedOutputChars` and its
 * `bytes` still say how much was written.
 */
export const ringOutputCharsMax = 32 * 1024 * 1024;
/** Characters an output event keeps once the ring's output budget is spent. */
export const truncatedOutputChars = 256;

/** Width of the anomaly windows, ms. */
export const anomalyWindowMs = 100;
/**
 * The name every call outside the syscall table is recorded under. Call
 * names are `[A-Za-z0-9._]` only (the frame decoder refuses anything else),
 * so no real call can be called this.
 */
export const unknownCallName = "(unknown)";
/** Call names `knownCalls` accepts in all; more is a programmer error. */
export const knownCallsMax = 1024;
/**
 * Limit names made at run time (`limit(tenant, "quota:<name>")`) the hub
 * interns; past this, or for a name that does not look like one
 * (`limitNamePattern`), the event is named `(unknown)` and `namesRefused`
 * counts it. Only kernel code names limits; the bound keeps a mistake from
 * ever feeding client text into the name table.
 */
export const limitNamesMax = 64;
/** What a limit name looks like: `cpu`, `quota:agentsConcurrentMax`, ... */
export const limitNamePattern: RegExp = /^[a-z][A-Za-z0-9:._]{0,63}$/;
/** Exit reasons that are also `limit` events. */
const limitExitReasons: ReadonlySet<string> = new Set<ExitReason>(["cpu", "memory", "timeout", "output"]);
/** Scopes of a policy change. */
export type PolicyScope = "tenant" | "agent";
/** Tenants the tenant table holds (the ring's 32-bit column; past it tenants read "other"). */
export const tenantsInternedMax = 65_536;

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
  /** Kernel-defined names only (see the module documentation). */
  readonly names = new Interner();
  readonly tenants = new Interner(tenantsInternedMax);
  readonly sampler = new AdaptiveSampler();
  readonly latency = new AnomalyDetector(anomalyProfiles.latency);
  readonly rates = new AnomalyDetector(anomalyProfiles.rate);
  /** Output events stored truncated because the ring's output budget was spent. */
  outputTruncated = 0;
  /** Events not written to the ring because sampling dropped them. */
  sampledOut = 0;
  /** Anomaly events raised. */
  anomalies = 0;
  /** Syscall and denial events whose call is not in the syscall table (recorded as `(unknown)`). */
  unknownCalls = 0;
  /** Limit names refused (over `limitNamesMax` or not a limit name), recorded as `(unknown)`. */
  namesRefused = 0;
  /** Estimated hub CPU time, ms, and the supervisor CPU time it is compared with. */
  overheadMs = 0;
  #enabled: boolean;
  #calls = 0;
  #latencyTracker: RateTracker;
  #rateTracker: RateTracker;
  #subjects = new Map<string, Subject>();
  /** Call name → name id, for the syscall table's names only. */
  #callIds = new Map<string, number>();
  /** `from` → `to` → name id of the lifecycle transition `from>to`. */
  #transitionIds = new Map<string, Map<string, number>>();
  /** Exit reason → name id of `exit:<reason>`, and of `<reason>` for the limit ones. */
  #exitIds = new Map<string, { exit: number; limit: number | undefined }>();
  #policyIds = new Map<string, number>();
  #unknownId: number;
  #cleanupId: number;
  #anomalyId: number;
  #limitNamesInterned = 0;
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
    this.#unknownId = this.names.intern(unknownCallName);
    this.#cleanupId = this.names.intern("cleanup");
    this.#anomalyId = this.names.intern("anomaly");
    for (const scope of ["tenant", "agent"] satisfies PolicyScope[]) {
      this.#policyIds.set(scope, this.names.intern(`policy:${scope}`));
    }
    for (const from of procStates) {
      const to = new Map<string, number>();
      for (const state of procStates) to.set(state, this.names.intern(`${from}>${state}`));
      this.#transitionIds.set(from, to);
    }
    for (const reason of exitReasons) {
      this.#exitIds.set(reason, {
        exit: this.names.intern(`exit:${reason}`),
        limit: limitExitReasons.has(reason) ? this.names.intern(reason) : undefined,
      });
    }
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

  /**
   * Tell the hub the syscall table's call names: only these are recorded
   * under their own name; every other call is `(unknown)`. Additive; call it
   * once the table is built (the runtime does).
   *
   * @param calls the table's call names
   * @throws {Error} when more than `knownCallsMax` names are given in all (a programmer error)
   * @example
   * ```ts
   * import { ObservabilityHub } from "./hub.ts";
   * const hub = new ObservabilityHub({ enabled: false });
   * hub.knownCalls(["time.now", "fs.readText"]);
   * ```
   */
  knownCalls(calls: Iterable<string>): void {
    for (const call of calls) {
      if (this.#callIds.has(call)) continue;
      if (this.#callIds.size >= knownCallsMax) throw new Error(`assertion failed: over ${knownCallsMax} known calls`);
      this.#callIds.set(call, this.names.intern(call));
    }
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
    const nameId = this.#callId(call);
    this.#rateTracker.record(this.#keys(s).syscalls, now);
    this.#latencyTracker.record(nameId === this.#unknownId ? unknownCallName : call, now, latencyUs);
    if (this.sampler.shouldSample(errno === null ? "syscall" : "error")) {
      const detail = summarizeArgs(args);
      this.#emit(
        now,
        EventKind.syscall,
        s,
        nameId,
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
    this.#emit(now, EventKind.denial, s, this.#callId(call), errnoId(errno), 0, 0, `${layer}: ${message}`);
  }

  /** A lifecycle transition. */
  lifecycle(s: Subject, from: ProcState, to: ProcState): void {
    if (!this.#enabled) return;
    const nameId = this.#transitionIds.get(from)?.get(to) ?? this.#unknownId;
    this.#emit(Date.now(), EventKind.lifecycle, s, nameId, 0, 0, 0, undefined);
  }

  /** How an agent ended; limit reasons are also `limit` events. */
  exit(s: Subject, reason: ExitReason, exitCode: number, message: string | undefined): void {
    if (!this.#enabled) return;
    const now = Date.now();
    const ids = this.#exitIds.get(reason);
    if (ids?.limit !== undefined) this.#emit(now, EventKind.limit, s, ids.limit, 0, 0, 0, message);
    this.#emit(now, EventKind.lifecycle, s, ids?.exit ?? this.#unknownId, 0, 0, exitCode, message);
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
    // The ring holds output by reference: past its budget an event keeps only a copied head (and says so).
    let detail = data;
    if (this.ring.detailChars + data.length > ringOutputCharsMax) {
      detail = copyOf(data.slice(0, truncatedOutputChars));
      this.outputTruncated++;
    }
    this.#emit(now, EventKind.output, s, fd, 0, 0, data.length, detail);
  }

  /** What cleanup released for an exited agent. */
  cleanup(s: Subject, resources: number, bytes: number, errors: number): void {
    if (!this.#enabled) return;
    this.#emit(
      Date.now(),
      EventKind.cleanup,
      s,
      this.#cleanupId,
      errors > 0 ? errnoId("EIO") : 0,
      0,
      bytes,
      `${resources} resources`,
    );
  }

  /**
   * A quota or limit hit outside any agent (e.g. a refused spawn).
   *
   * @param name a kernel-made limit name such as `quota:agentsConcurrentMax`;
   *   at most `limitNamesMax` distinct ones are interned, see there
   */
  limit(tenant: string, name: string, detail: string): void {
    if (!this.#enabled) return;
    const s = { pid: 0, uid: 0, tenant, causality: 0 };
    this.#emit(Date.now(), EventKind.limit, s, this.#limitId(name), 0, 0, 0, detail);
  }

  /** A policy change (epoch bump). */
  policy(tenant: string, scope: PolicyScope, epoch: number): void {
    if (!this.#enabled) return;
    const s = { pid: 0, uid: 0, tenant, causality: 0 };
    this.#emit(Date.now(), EventKind.policy, s, this.#policyIds.get(scope) ?? this.#unknownId, 0, 0, epoch, undefined);
  }

  /** Materialise the event at `view` (reused by readers). */
  view(): EventView {
    return new EventView();
  }

  /** The name id of a call: its own for the syscall table's names, `(unknown)` for anything else. */
  #callId(call: string): number {
    const id = this.#callIds.get(call);
    if (id !== undefined) return id;
    this.unknownCalls++;
    return this.#unknownId;
  }

  /** The name id of a kernel-made limit name, within `limitNamesMax`. */
  #limitId(name: string): number {
    const id = this.names.lookup(name);
    if (id !== undefined && id !== this.#unknownId) return id;
    if (this.#limitNamesInterned >= limitNamesMax || !limitNamePattern.test(name)) {
      this.namesRefused++;
      return this.#unknownId;
    }
    this.#limitNamesInterned++;
    return this.names.intern(name);
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
    this.#emit(Date.now(), EventKind.anomaly, s, this.#anomalyId, 0, 0, value, detail);
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

const copier = new TextEncoder();
const copyDecoder = new TextDecoder();

/** A flat copy of a short string (a slice may keep its whole parent alive). */
function copyOf(text: string): string {
  return copyDecoder.decode(copier.encode(text));
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
