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
 * - Kinds: what an event of each kind stores, how it reads back and which
 *   Prometheus series it counts into is the kind's own row of
 *   `event_kinds.ts`. Each method here hands its typed arguments to its
 *   kind's `encode`, which puts the columns into the ring (when kept) and,
 *   once `meter` attached a registry, into the kind's series (every event,
 *   sampled out or not). The two sinks kinds write through are
 *   `hub_sink.ts`'s.
 *
 * Nothing here throws into the kernel.
 *
 * @module
 */

import type { Errno } from "../kernel/mod.ts";
import type { ExitReason, ProcState } from "../kernel/process/mod.ts";
import { AnomalyDetector, anomalyProfiles } from "./anomaly.ts";
import {
  type AttachedKinds,
  EventKinds,
  type MeterOptions,
  type PolicyScope,
  type Subject,
  unknownName,
} from "./event_kinds.ts";
import { HubSink, type SinkShared } from "./hub_sink.ts";
import { Interner } from "./interner.ts";
import type { Registry } from "./metrics.ts";
import { EventRing, EventView } from "./ring.ts";
import { AdaptiveSampler, type SampleHandle } from "./sampler.ts";
import { summarizeArgs } from "./summarize.ts";
import { HubSeries } from "./hub_series.ts";

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

export { agentSeriesMax, anomalyWindowMs } from "./hub_series.ts";
/**
 * The name every call outside the syscall table is recorded under. Call
 * names are `[A-Za-z0-9._]` only (the frame decoder refuses anything else),
 * so no real call can be called this.
 */
export const unknownCallName: typeof unknownName = unknownName;
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
export type { PolicyScope, Subject };
/** Tenants the tenant table holds (the ring's 32-bit column; past it tenants read "other"). */
export const tenantsInternedMax = 65_536;

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
  /** The event kind table, attached to this hub's names: encodes its events, decodes the ring's. */
  readonly kinds: EventKinds;
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
  /** Syscall events of agents with `trace: "full"` (always kept, outside the sampler and its budget). */
  tracedFull = 0;
  /** Estimated hub CPU time, ms, and the supervisor CPU time it is compared with. */
  overheadMs = 0;
  #enabled: boolean;
  #calls = 0;
  /** Call name → name id, for the syscall table's names only. */
  #callIds = new Map<string, number>();
  #unknownId: number;
  #limitNamesInterned = 0;
  /** The syscall kind's codec (the hot path's, held here to save two lookups per call). */
  readonly #syscallKind: AttachedKinds["syscall"];
  /** Each agent's and each call's anomaly tallies, and the groups of calls alike (see `hub_series.ts`). */
  readonly #series: HubSeries;
  readonly #syscallSample: SampleHandle;
  readonly #errorSample: SampleHandle;
  /** What the two sinks share: readers to wake, the meters and the view they read. */
  readonly #shared: SinkShared = { wakers: new Set(), wakeScheduled: false, meters: undefined, out: new EventView() };
  /** Where kinds hand kept events: the ring (and, when metered, the meters' view). */
  readonly #toRing: HubSink;
  /** Where kinds hand events the sampler keeps out of the ring: the meters' view only. */
  readonly #toMeters: HubSink;
  #cpuAtAdjust = 0;
  #overheadAtAdjust = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #onAnomaly: ((a: AnomalyEvent) => void) | undefined;
  /** What one `performance.now()` costs here, ms: subtracted from timed samples. */
  #clockMs = clockCostMs();

  /** @param options ring slots, its first sequence number, whether observability is on, anomaly listener */
  constructor(
    options: { slots?: number; firstSeq?: number; enabled?: boolean; onAnomaly?: (a: AnomalyEvent) => void } = {},
  ) {
    this.ring = new EventRing({ slots: options.slots, firstSeq: options.firstSeq });
    this.#toRing = new HubSink(this.ring, this.tenants, this.#shared, true);
    this.#toMeters = new HubSink(this.ring, this.tenants, this.#shared, false);
    this.#unknownId = this.names.intern(unknownCallName);
    // Every kind interns its fixed names (transitions, exit reasons, scopes, ...) here, up front.
    this.kinds = new EventKinds({ names: this.names, tenants: this.tenants, unknownId: this.#unknownId });
    this.#syscallKind = this.kinds.of.syscall;
    this.#enabled = options.enabled ?? true;
    this.#onAnomaly = options.onAnomaly;
    this.#series = new HubSeries(this.names, {
      latency: (key, meanUs) => this.#check(this.latency, key, meanUs),
      rate: (key, perSec) => this.#check(this.rates, key, perSec),
      meterOk: (s, nameId, latencyUs, atMs, n) => {
        if (this.#shared.meters === undefined) return;
        this.#syscallKind.encode(this.#toMeters, atMs, s, nameId, null, latencyUs, 0, undefined);
        this.#count(n);
      },
    }, this.#clockMs);
    this.#syscallSample = this.sampler.handle("syscall");
    this.#errorSample = this.sampler.handle("error");
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

  /**
   * Register every event kind's Prometheus series in `registry` and count
   * every event into them from now on — syscalls sampled out of the ring
   * included. Once per hub. A disabled hub records nothing, series included.
   *
   * @param registry where the series go
   * @param options how call names become labels
   * @throws {Error} when called twice (a programmer error)
   * @example
   * ```ts
   * import { ObservabilityHub } from "./hub.ts";
   * import { Registry } from "./metrics.ts";
   * const hub = new ObservabilityHub({ enabled: false });
   * const registry = new Registry();
   * hub.meter(registry);
   * registry.expose(); // agentos_syscalls_total, agentos_agent_exits_total, ...
   * ```
   */
  meter(registry: Registry, options?: MeterOptions): void {
    if (this.#shared.meters !== undefined) throw new Error("assertion failed: hub metered twice");
    this.#shared.meters = this.kinds.meters(registry, options);
    registry.onCollect(() => this.#series.flushOk()); // a scrape sees every call counted
  }

  /** Stop the sampler's timer. */
  close(): void {
    clearInterval(this.#timer);
  }

  /** Be told (at most once per microtask) that new events are in the ring. */
  onEmit(wake: () => void): () => void {
    const wakers = this.#shared.wakers;
    wakers.add(wake);
    return () => wakers.delete(wake);
  }

  /**
   * One finished syscall; `args` are summarised only if the event is kept.
   * Every call of an agent with `trace: "full"` is kept, outside the
   * sampler and its budget (the agent's rate pays: `traceFullCallCost`).
   *
   * @param atMs when it finished, epoch ms (the dispatcher's one reading per
   *   turn; default `Date.now()`)
   */
  syscall(
    s: Subject,
    call: string,
    errno: Errno | null,
    latencyUs: number,
    bytes: number,
    args: unknown,
    atMs?: number,
  ): void {
    if (!this.#enabled) return;
    const full = s.trace === "full";
    // A full trace is the agent's cost, not the hub's: outside the timed share the sampler steers by.
    const timed = !full && ++this.#calls % overheadTimingEvery === 0;
    const started = timed ? performance.now() : 0;
    const now = atMs ?? Date.now();
    const nameId = this.#callId(call);
    if (errno === null) {
      this.#series.okCall(s, nameId, latencyUs, now);
      if (full) this.tracedFull++;
      if (full || this.sampler.keep(this.#syscallSample)) {
        // Metered with its group: into the ring only.
        this.#syscallKind.encode(this.#toRing, now, s, nameId, null, latencyUs, bytes, summarizeArgs(args));
      } else this.sampledOut++;
    } else {
      this.#series.failedCall(s, nameId, latencyUs, now);
      if (full) this.tracedFull++;
      const keep = full || this.sampler.keep(this.#errorSample);
      if (!keep) this.sampledOut++;
      const args_ = keep ? summarizeArgs(args) : undefined;
      this.#syscallKind.encode(keep ? this.#toRing : this.#toMeters, now, s, nameId, errno, latencyUs, bytes, args_);
      this.#count();
    }
    if (timed) this.overheadMs += Math.max(0, performance.now() - started - this.#clockMs) * overheadTimingEvery;
  }

  /** A refused call, with the layer that refused it (one of `denialLayers`). */
  denial(s: Subject, call: string, layer: string, errno: Errno, message: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    this.#series.denial(s, now);
    this.kinds.of.denial.encode(this.#toRing, now, s, this.#callId(call), layer, errno, message);
    this.#count();
  }

  /** A lifecycle transition. */
  lifecycle(s: Subject, from: ProcState, to: ProcState): void {
    if (!this.#enabled) return;
    this.kinds.of.lifecycle.encode(this.#toRing, Date.now(), s, from, to);
    this.#count();
  }

  /** A package of the store was loaded into an agent's module graph. */
  imported(s: Subject, pkg: string, specifier: string): void {
    if (!this.#enabled) return;
    this.kinds.of.import.encode(this.#toRing, Date.now(), s, pkg, specifier);
    this.#count();
  }

  /** An approval opened or reached its final state (`detail`: the approval as JSON). */
  approval(s: Subject, state: string, detail: string): void {
    if (!this.#enabled) return;
    this.kinds.of.approval.encode(this.#toRing, Date.now(), s, state, detail);
    this.#count();
  }

  /** How an agent ended; limit reasons are also `limit` events (written first). */
  exit(s: Subject, reason: ExitReason, exitCode: number, message: string | undefined): void {
    if (!this.#enabled) return;
    const now = Date.now();
    const limitId = this.kinds.of.limit.reasonId(reason);
    if (limitId !== undefined) {
      this.kinds.of.limit.encode(this.#toRing, now, s, limitId, message);
      this.#count();
    }
    this.kinds.of.exit.encode(this.#toRing, now, s, reason, exitCode, message);
    this.#count();
    for (const key of this.#series.forget(s.uid)) this.rates.delete(key);
  }

  /** Captured output. */
  output(s: Subject, fd: 1 | 2, data: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    this.#series.output(s, now, data.length);
    // The ring holds output by reference: past its budget an event keeps only a copied head (and says so).
    let detail = data;
    if (this.ring.detailChars + data.length > ringOutputCharsMax) {
      detail = copyOf(data.slice(0, truncatedOutputChars));
      this.outputTruncated++;
    }
    this.kinds.of.output.encode(this.#toRing, now, s, fd, data.length, detail);
    this.#count();
  }

  /** What cleanup released for an exited agent. */
  cleanup(s: Subject, resources: number, bytes: number, errors: number): void {
    if (!this.#enabled) return;
    this.kinds.of.cleanup.encode(this.#toRing, Date.now(), s, resources, bytes, errors);
    this.#count();
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
    this.kinds.of.limit.encode(this.#toRing, Date.now(), s, this.#limitId(name), detail);
    this.#count();
  }

  /**
   * A policy change: the epoch was bumped.
   *
   * @param tenant whose policy (or whose agent's) changed
   * @param scope `tenant` for the tenant's policy, `agent` for one agent's own
   * @param epoch the policy epoch after the change
   * @param agent the agent whose own policy changed (scope `agent`), so its stream shows it
   */
  policy(tenant: string, scope: PolicyScope, epoch: number, agent?: Subject): void {
    if (!this.#enabled) return;
    const s = agent === undefined ? { pid: 0, uid: 0, tenant, causality: 0 } : { ...agent, tenant };
    this.kinds.of.policy.encode(this.#toRing, Date.now(), s, scope, epoch);
    this.#count();
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

  /** Count the event just put in its kind's series (when metered), `n` times. */
  #count(n = 1): void {
    const { meters, out: v } = this.#shared;
    if (meters === undefined) return;
    const meter = meters[v.kind];
    if (meter !== undefined) {
      try {
        meter(v, n);
      } catch { /* a meter never breaks the kernel */ }
    }
    v.detail = undefined; // the view does not keep a string alive
  }

  #check(detector: AnomalyDetector, series: string, value: number): void {
    const score = detector.observe(series, value);
    if (score === undefined) return;
    this.anomalies++;
    const s = this.#series.subjectOf(series) ?? { pid: 0, uid: 0, tenant: "", causality: 0 };
    this.kinds.of.anomaly.encode(this.#toRing, Date.now(), s, series, value, score.mean, score.z);
    this.#count();
    this.#onAnomaly?.({ series, value, mean: score.mean, z: score.z, pid: s.pid, tenant: s.tenant });
  }

  #adjust(): void {
    const now = Date.now();
    this.#series.flush(now);
    const cpu = process.cpuUsage();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const kernelMs = cpuMs - this.#cpuAtAdjust;
    const totalMs = this.overheadMs + this.#series.overheadMs;
    const obsMs = totalMs - this.#overheadAtAdjust;
    this.#cpuAtAdjust = cpuMs;
    this.#overheadAtAdjust = totalMs;
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
