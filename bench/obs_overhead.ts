/**
 * Observability overhead benchmark: the same syscall-heavy workloads through
 * real cells with the observability hub on and off, in the same run.
 *
 * Repetitions interleave (on, off, on, off, …); each repetition is a fresh
 * `Runtime` (temp data dir, pool 1, removed after) that runs both workloads:
 *
 * - batched: one agent issues `sys.batch` of 1000 `time.now` a fixed number
 *   of times (`syscallsPerSec` 1,000,000);
 * - sequential: one agent issues 5,000 `await sys.time.now()` one at a time.
 *
 * Calls/s is measured inside the Worker (`performance.now()` around the
 * loop). The table shows the median of each mode, the min–max spread, and
 * overhead = (off − on) / off of the medians, plus the "on" runtime's final
 * sampler rates, `obs.sampledOut` and `obs.ring.emitted`.
 *
 * Run: `deno run -A bench/obs_overhead.ts [--quick]`.
 *
 * @module
 */

import { Runtime } from "../sandbox/runtime.ts";
import { fmt, loadAverage, median, table, waitFor } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
/** Repetitions per mode (on and off alternate). */
const reps = quick ? 3 : 5;
const batchSize = 1000;
const batches = quick ? 60 : 100;
const sequentialCalls = quick ? 2_000 : 5_000;
const warmupBatches = 3;
const warmupCalls = 200;
const syscallsPerSec = 1_000_000;

// --- statistics and output (same approach as bench/foundation.ts) -------------

// --- workloads -------------------------------------------------------------------

const batchedAgent = `export default async () => {
  const list = Array.from({ length: ${batchSize} }, () => ({ call: "time.now" }));
  for (let i = 0; i < ${warmupBatches}; i++) await sys.batch(list);
  let calls = 0, ok = 0;
  const t0 = performance.now();
  for (let i = 0; i < ${batches}; i++) {
    const results = await sys.batch(list);
    calls += results.length;
    for (const r of results) if (r.ok) ok++;
  }
  return { calls, ok, ms: performance.now() - t0 };
};
`;

const sequentialAgent = `export default async () => {
  for (let i = 0; i < ${warmupCalls}; i++) await sys.time.now();
  const t0 = performance.now();
  for (let i = 0; i < ${sequentialCalls}; i++) await sys.time.now();
  return { calls: ${sequentialCalls}, ok: ${sequentialCalls}, ms: performance.now() - t0 };
};
`;

interface Throughput {
  calls: number;
  ok: number;
  ms: number;
}

interface Rep {
  batched: number;
  sequential: number;
  /** Only for "on": the hub's state after both workloads. */
  rates?: string;
  sampledOut?: number;
  emitted?: number;
}

async function runAgent(runtime: Runtime, code: string, limits = {}): Promise<Throughput> {
  const r = await runtime.run({ code, limits });
  if (r.reason !== "exit" || r.exitCode !== 0) throw new Error(`bench agent ended ${r.reason}: ${r.message}`);
  const t = r.result as Throughput;
  if (t.ok !== t.calls) throw new Error(`${t.calls - t.ok} calls refused`);
  return t;
}

/** One repetition: a fresh runtime with observability `on`, both workloads. */
async function repetition(on: boolean): Promise<Rep> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-obs-" });
  const runtime = new Runtime({ dataDir, poolSize: 1, observability: on });
  try {
    await runtime.start();
    const warm = () => runtime.pool.stats().warm === 1 && runtime.pool.stats().starting === 0;
    await waitFor(warm);
    const b = await runAgent(runtime, batchedAgent, { syscallsPerSec });
    await waitFor(warm); // the replacement cell's start must not overlap the next workload
    const s = await runAgent(runtime, sequentialAgent, { syscallsPerSec });
    const rep: Rep = { batched: b.calls / (b.ms / 1000), sequential: s.calls / (s.ms / 1000) };
    if (on) {
      rep.rates = runtime.obs.sampler.stats().map((c) => `${c.category} ${fmt(c.rate, 3)}`).join(", ") ||
        "(no categories)";
      rep.sampledOut = runtime.obs.sampledOut;
      rep.emitted = runtime.obs.ring.emitted;
    }
    return rep;
  } finally {
    await runtime.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

// --- main ---------------------------------------------------------------------------

const t0 = performance.now();
const loadBefore = await loadAverage();
console.log(`\n## observability overhead${quick ? " (--quick)" : ""}`);
console.log(`\nDeno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}/${Deno.build.arch}`);

await repetition(true); // warm-up: supervisor module graph and JIT, not counted
const on: Rep[] = [];
const off: Rep[] = [];
for (let i = 0; i < reps; i++) {
  on.push(await repetition(true));
  off.push(await repetition(false));
}

const rows: string[][] = [];
for (
  const [label, key] of [
    [`batched: ${batches} × \`sys.batch\` of ${batchSize} \`time.now\``, "batched"],
    [`sequential: ${sequentialCalls} × \`await sys.time.now()\``, "sequential"],
  ] as const
) {
  const a = on.map((r) => r[key]);
  const b = off.map((r) => r[key]);
  const mOn = median(a), mOff = median(b);
  const overhead = (mOff - mOn) / mOff;
  // Run-to-run noise: the relative min–max spread of each mode; a difference inside it is not a measurement.
  const spread = Math.max((Math.max(...a) - Math.min(...a)) / mOn, (Math.max(...b) - Math.min(...b)) / mOff);
  const verdict = Math.abs(overhead) <= spread
    ? `within noise (spread ${fmt(spread * 100, 1)} %)`
    : `outside noise (spread ${fmt(spread * 100, 1)} %)`;
  rows.push([
    label,
    fmt(mOn, 0),
    `${fmt(Math.min(...a), 0)}–${fmt(Math.max(...a), 0)}`,
    fmt(mOff, 0),
    `${fmt(Math.min(...b), 0)}–${fmt(Math.max(...b), 0)}`,
    `${fmt(overhead * 100, 1)} %`,
    verdict,
  ]);
}
table(
  `Observability on vs off, calls/s measured in the Worker (median of ${reps} fresh runtimes each, interleaved; pool 1)`,
  ["workload", "on", "on min–max", "off", "off min–max", "overhead (off − on)/off, target ≤ 2 %", "vs run-to-run"],
  rows,
);

table(
  "Calls/s of each repetition, in run order (on and off alternate)",
  ["rep", "batched on", "batched off", "sequential on", "sequential off"],
  on.map((
    r,
    i,
  ) => [String(i + 1), fmt(r.batched, 0), fmt(off[i].batched, 0), fmt(r.sequential, 0), fmt(off[i].sequential, 0)]),
);

table(
  `Hub state of each "on" runtime after both workloads`,
  ["rep", "sampler rates (final)", "`obs.sampledOut`", "`obs.ring.emitted`"],
  on.map((r, i) => [String(i + 1), r.rates!, fmt(r.sampledOut!, 0), fmt(r.emitted!, 0)]),
);

const took = fmt((performance.now() - t0) / 1000, 1);
console.log(`\n(obs_overhead bench took ${took} s)`);
console.log(`(load average before ${loadBefore}, after ${await loadAverage()})`);
