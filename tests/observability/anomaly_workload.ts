/**
 * A seeded synthetic kernel workload with injected faults, used to measure
 * the precision and recall of the anomaly detector (by the test suite and by
 * `bench/observability.ts`).
 *
 * Background: agents issue syscalls as an overdispersed Poisson process
 * (base rates log-normal between 10/s and 3,000/s, modulated by a slow AR(1)
 * drift of ~23% in log space); each agent has its own mix of syscall kinds;
 * each kind has a log-normal base latency (5 µs–20 ms) and per-call
 * log-normal noise (sigma 0.5) plus rare 5–20x tail stalls (0.5% of calls).
 *
 * Faults, one of each per trial at random times: one agent issues 50x its
 * usual rate for 5 s; one syscall kind's latency jumps 20x for 5 s.
 *
 * Wiring, as the kernel does it: a `RateTracker` (100 ms windows) per
 * dimension; per-agent rates feed one detector, per-kind window-mean
 * latencies another.
 *
 * @module
 */

import { AnomalyDetector, type AnomalyDetectorOptions, RateTracker } from "../../observability/anomaly.ts";

/** Seeded PRNG (mulberry32) with normal and Poisson draws. */
export class Rng {
  #state: number;
  #spare = NaN;
  /** @param seed any integer */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    if (!Number.isNaN(this.#spare)) {
      const s = this.#spare;
      this.#spare = NaN;
      return s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Poisson(lambda): Knuth below 30, normal approximation above. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) {
      return Math.max(
        0,
        Math.round(lambda + Math.sqrt(lambda) * this.normal()),
      );
    }
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/** Parameters of the synthetic workload. */
export interface WorkloadConfig {
  agents: number;
  kinds: number;
  durationMs: number;
  windowMs: number;
  rateFaultFactor: number;
  latencyFaultFactor: number;
  faultMs: number;
  /** Alarms up to this long after a fault ends still count as detecting it. */
  graceMs: number;
}

/** The workload used in the tests and the benchmark. */
export const workloadDefault: WorkloadConfig = {
  agents: 12,
  kinds: 8,
  durationMs: 30_000,
  windowMs: 100,
  rateFaultFactor: 50,
  latencyFaultFactor: 20,
  faultMs: 5_000,
  graceMs: 1_000,
};

/** Detector settings per dimension, as the kernel wires them. */
export interface DetectorProfile {
  rate: AnomalyDetectorOptions;
  latency: AnomalyDetectorOptions;
}

interface Fault {
  series: string;
  startMs: number;
  endMs: number;
  detectedAtMs: number;
}

/** Outcome of one or more trials. */
export interface EvaluationResult {
  trials: number;
  faults: number;
  detected: number;
  /** Alarm episodes (alarms < 1 s apart on one series) outside any fault. */
  falseEpisodes: number;
  alarms: number;
  alarmsInFaults: number;
  precision: number;
  recall: number;
  delayMsMean: number;
  /** Recall per fault type. */
  recallRate: number;
  recallLatency: number;
}

/** Raw counts of one trial. */
export interface TrialResult {
  faults: Fault[];
  alarms: number;
  alarmsInFaults: number;
  falseEpisodes: number;
}

/** The randomly drawn agents, syscall kinds and faults of one trial. */
interface World {
  agentRate: number[];
  agentMix: number[][];
  kindLatencyUs: number[];
  agentKeys: string[];
  kindKeys: string[];
  rateAgent: number;
  latencyKind: number;
  faults: [Fault, Fault];
}

function makeWorld(rng: Rng, c: WorkloadConfig): World {
  const clamp = (lo: number, x: number, hi: number) => Math.min(hi, Math.max(lo, x));
  const agentRate = Array.from({ length: c.agents }, () => clamp(10, Math.exp(Math.log(200) + rng.normal()), 3000));
  const agentMix = Array.from({ length: c.agents }, () => cumulative(rng, c.kinds));
  const kindLatencyUs = Array.from(
    { length: c.kinds },
    () => clamp(5, Math.exp(Math.log(80) + 1.2 * rng.normal()), 20_000),
  );
  const agentKeys = Array.from({ length: c.agents }, (_, a) => `rate:agent${a}`);
  const kindKeys = Array.from({ length: c.kinds }, (_, k) => `lat:kind${k}`);
  const rateAgent = Math.floor(rng.next() * c.agents);
  const latencyKind = Math.floor(rng.next() * c.kinds);
  const fault = (series: string): Fault => {
    const startMs = 8_000 + rng.next() * (c.durationMs - c.faultMs - 10_000);
    return { series, startMs, endMs: startMs + c.faultMs, detectedAtMs: NaN };
  };
  const faults: [Fault, Fault] = [fault(agentKeys[rateAgent]), fault(kindKeys[latencyKind])];
  return { agentRate, agentMix, kindLatencyUs, agentKeys, kindKeys, rateAgent, latencyKind, faults };
}

/** Attributes alarms to faults (with grace) or counts false episodes. */
function makeScorer(faults: Fault[], c: WorkloadConfig) {
  const result: TrialResult = { faults, alarms: 0, alarmsInFaults: 0, falseEpisodes: 0 };
  const lastFalseAlarmMs = new Map<string, number>();
  const onAlarm = (series: string, windowStartMs: number) => {
    result.alarms++;
    const fault = faults.find((f) =>
      f.series === series && windowStartMs >= f.startMs - c.windowMs && windowStartMs <= f.endMs + c.graceMs
    );
    if (fault !== undefined) {
      result.alarmsInFaults++;
      if (Number.isNaN(fault.detectedAtMs)) fault.detectedAtMs = windowStartMs;
      return;
    }
    const last = lastFalseAlarmMs.get(series) ?? -Infinity;
    if (windowStartMs - last > 1_000) result.falseEpisodes++;
    lastFalseAlarmMs.set(series, windowStartMs);
  };
  return { result, onAlarm };
}

/**
 * Run one seeded trial and return its raw counts.
 *
 * @param seed trial seed
 * @param profile detector options
 * @param config workload parameters
 */
export function runTrial(
  seed: number,
  profile: DetectorProfile,
  config: WorkloadConfig = workloadDefault,
): TrialResult {
  const c = config;
  const rng = new Rng(seed);
  const w = makeWorld(rng, c);
  const [rateFault, latencyFault] = w.faults;
  const { result, onAlarm } = makeScorer(w.faults, c);
  const rateDetector = new AnomalyDetector(profile.rate);
  const latencyDetector = new AnomalyDetector(profile.latency);
  let now = 0;
  const rates = new RateTracker((key, perSec) => {
    if (rateDetector.observe(key, perSec) !== undefined) onAlarm(key, now);
  }, { windowMs: c.windowMs });
  const latencies = new RateTracker((key, _perSec, count, meanUs) => {
    if (count > 0 && latencyDetector.observe(key, meanUs) !== undefined) onAlarm(key, now);
  }, { windowMs: c.windowMs });
  const drift = new Array<number>(c.agents).fill(0);
  const active = (f: Fault) => now >= f.startMs && now < f.endMs;
  for (; now < c.durationMs; now += c.windowMs) {
    const latencyFactor = active(latencyFault) ? c.latencyFaultFactor : 1;
    for (let a = 0; a < c.agents; a++) {
      drift[a] = 0.9 * drift[a] + 0.1 * rng.normal();
      let lambda = w.agentRate[a] * (c.windowMs / 1000) * Math.exp(drift[a]);
      if (a === w.rateAgent && active(rateFault)) lambda *= c.rateFaultFactor;
      const n = rng.poisson(lambda);
      for (let i = 0; i < n; i++) {
        const t = now + rng.next() * c.windowMs;
        const kind = pick(w.agentMix[a], rng.next());
        let latency = w.kindLatencyUs[kind] * Math.exp(0.5 * rng.normal());
        if (rng.next() < 0.005) latency *= 5 + 15 * rng.next(); // GC / disk stall
        if (kind === w.latencyKind) latency *= latencyFactor;
        rates.record(w.agentKeys[a], t);
        latencies.record(w.kindKeys[kind], t, latency);
      }
    }
    rates.flush(now + c.windowMs);
    latencies.flush(now + c.windowMs);
  }
  return result;
}

/**
 * Run `trials` seeded trials and compute precision and recall.
 *
 * Recall = injected faults with at least one alarm on the faulted series
 * during the fault (plus grace) / injected faults. Precision = detected
 * faults / (detected faults + false alarm episodes), so a fault counts once
 * however many alarms it raises, and every burst of false alarms counts.
 *
 * @param trials number of trials (seeds seedBase..seedBase+trials-1)
 * @param profile detector options
 * @param seedBase first seed
 */
export function evaluate(
  trials: number,
  profile: DetectorProfile,
  seedBase = 1,
  config: WorkloadConfig = workloadDefault,
): EvaluationResult {
  let faults = 0;
  let detected = 0;
  let falseEpisodes = 0;
  let alarms = 0;
  let alarmsInFaults = 0;
  let delaySum = 0;
  const byType = { rate: [0, 0], lat: [0, 0] };
  for (let t = 0; t < trials; t++) {
    const r = runTrial(seedBase + t, profile, config);
    alarms += r.alarms;
    alarmsInFaults += r.alarmsInFaults;
    falseEpisodes += r.falseEpisodes;
    for (const f of r.faults) {
      const type = f.series.startsWith("rate:") ? byType.rate : byType.lat;
      faults++;
      type[0]++;
      if (Number.isNaN(f.detectedAtMs)) continue;
      detected++;
      type[1]++;
      delaySum += Math.max(0, f.detectedAtMs - f.startMs);
    }
  }
  return {
    trials,
    faults,
    detected,
    falseEpisodes,
    alarms,
    alarmsInFaults,
    precision: detected + falseEpisodes === 0 ? 1 : detected / (detected + falseEpisodes),
    recall: faults === 0 ? 1 : detected / faults,
    delayMsMean: detected === 0 ? NaN : delaySum / detected,
    recallRate: byType.rate[1] / Math.max(1, byType.rate[0]),
    recallLatency: byType.lat[1] / Math.max(1, byType.lat[0]),
  };
}

function cumulative(rng: Rng, n: number): number[] {
  const weights = Array.from({ length: n }, () => -Math.log(1 - rng.next()));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  return weights.map((w) => (acc += w / total));
}

function pick(cumulativeWeights: number[], u: number): number {
  for (let i = 0; i < cumulativeWeights.length; i++) {
    if (u < cumulativeWeights[i]) return i;
  }
  return cumulativeWeights.length - 1;
}
