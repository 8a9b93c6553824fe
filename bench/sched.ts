/**
 * Scheduler benchmark: the latency a light tenant sees while another floods.
 *
 * Tenant A runs 20 agents that keep submitting (closed loop, `floodDepth`
 * calls outstanding each); tenant B submits one call at a time and measures
 * its queueing + service latency (submit → settle). Each job awaits a
 * resolved promise, then busy-works 2–20 µs. For each policy the table shows
 * B's p50/p99 without the flood and with it, and p99(flood)/p99(idle), all
 * medians over several runs in the same process.
 *
 * Run: `deno run -A bench/sched.ts [--quick]`.
 *
 * @module
 */

import { schedPolicies, type SchedPolicy, SyscallScheduler } from "../kernel/sched/mod.ts";

const quick = Deno.args.includes("--quick");
const runs = quick ? 3 : 7;
const samples = quick ? 400 : 2_000;
const warmupSamples = 100;
const floodAgents = 20;
const floodDepth = 8;
const busyUsMin = 2;
const busyUsMax = 20;
const quanta = [1, 4];

function busy(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) { /* spin */ }
}

let seed = 42;
function busyUs(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return busyUsMin + (seed % (busyUsMax - busyUsMin + 1));
}

function job(): () => Promise<void> {
  const us = busyUs();
  return async () => {
    await Promise.resolve();
    busy(us);
  };
}

/** Start A's flood; returns the function that stops it and waits for it to drain. */
function flood(sched: SyscallScheduler): { stop: () => Promise<void>; served: () => number } {
  let stopping = false;
  let served = 0;
  let outstanding = 0;
  let drained: () => void = () => {};
  const submit = (pid: number): void => {
    if (stopping) return;
    const inner = job();
    outstanding++;
    const ok = sched.submit({ pid, tenant: "A", priority: 20 }, async () => {
      await inner();
      outstanding--;
      served++;
      submit(pid);
      if (stopping && outstanding === 0) drained();
    });
    if (!ok) outstanding--;
  };
  for (let pid = 1; pid <= floodAgents; pid++) for (let i = 0; i < floodDepth; i++) submit(pid);
  const stop = () => {
    stopping = true;
    return outstanding === 0 ? Promise.resolve() : new Promise<void>((resolve) => drained = resolve);
  };
  return { stop, served: () => served };
}

/** B's latencies in µs, one call at a time. */
async function probe(sched: SyscallScheduler, n: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n + warmupSamples; i++) {
    const inner = job();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      sched.submit({ pid: 1000, tenant: "B", priority: 20 }, async () => {
        await inner();
        resolve();
      });
    });
    if (i >= warmupSamples) lat.push((performance.now() - t0) * 1000);
  }
  return lat;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Sample {
  p50: number;
  p99: number;
  /** A's calls served per second (0 without the flood). */
  floodRate: number;
}

async function measure(policy: SchedPolicy, quantumCalls: number, withFlood: boolean): Promise<Sample> {
  const sched = new SyscallScheduler({ policy, quantumCalls });
  const a = withFlood ? flood(sched) : null;
  const t0 = performance.now();
  // Strict priority serves B (same priority) behind A's whole backlog: fewer samples keep the run short.
  const lat = (await probe(sched, policy === "priority" ? samples / 4 : samples)).sort((x, y) => x - y);
  const floodRate = a === null ? 0 : a.served() / ((performance.now() - t0) / 1000);
  await a?.stop();
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), floodRate };
}

const rows: string[] = [];
for (const quantumCalls of quanta) {
  for (const policy of schedPolicies) {
    const idle: Sample[] = [], flooded: Sample[] = [];
    for (let r = 0; r < runs; r++) {
      idle.push(await measure(policy, quantumCalls, false));
      flooded.push(await measure(policy, quantumCalls, true));
    }
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const ratio = median(flooded.map((f, i) => f.p99 / idle[i].p99));
    const ratio50 = median(flooded.map((f, i) => f.p50 / idle[i].p50));
    rows.push(
      `| ${policy} | ${quantumCalls} | ${m(idle, "p50").toFixed(1)} | ${m(idle, "p99").toFixed(1)} | ` +
        `${m(flooded, "p50").toFixed(1)} | ${m(flooded, "p99").toFixed(1)} | ${ratio50.toFixed(2)}× | ${
          ratio.toFixed(2)
        }× | ` +
        `${Math.round(m(flooded, "floodRate")).toLocaleString("en-US")} |`,
    );
  }
}

console.log(
  `B latency (submit → settle, µs), A = ${floodAgents} agents × ${floodDepth} calls outstanding; ` +
    `jobs ${busyUsMin}–${busyUsMax} µs busy after an await; medians of ${runs} runs × ${samples} samples ` +
    `(priority: ${samples / 4}); load average ${
      Deno.loadavg()[0].toFixed(1)
    } on ${navigator.hardwareConcurrency} CPUs\n`,
);
console.log(
  "| policy | quantum | idle p50 | idle p99 | flood p50 | flood p99 | p50 flood/idle | p99 flood/idle | A calls/s |",
);
console.log(
  "| ------ | ------: | -------: | -------: | --------: | --------: | -------------: | -------------: | --------: |",
);
for (const row of rows) console.log(row);
