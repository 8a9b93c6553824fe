/**
 * Fairness benchmark through real cells: the syscall round trip a calm
 * tenant's agent sees while another tenant floods the kernel.
 *
 * One `Runtime` (pool 4). Tenant "calm" runs one agent that times its own
 * round trips inside the Worker (`performance.now()` around each of
 * `calmCalls` sequential `await sys.time.now()`, after a warm-up) and returns
 * the samples: first alone, then while tenant "flood" runs 4 agents each
 * issuing `sys.batch` of 500 `time.now` in a tight loop (wall-clock bounded,
 * killed once the calm agent has finished). For each scheduler policy
 * (switched with `runtime.scheduler.setPolicy`) the table shows calm's p50
 * and p99 alone and under flood and p99(flood)/p99(alone), medians over the
 * repetitions. The fair run's scheduler stats (served per tenant) are
 * printed too.
 *
 * Run: `deno run -A bench/fairness.ts [--quick]`.
 *
 * @module
 */

import process from "node:process";
import { type Agent, Runtime } from "../sandbox/runtime.ts";
import { schedPolicies, type SchedPolicy, type SchedStats } from "../kernel/sched/mod.ts";
import { fmt, loadAverage, median, percentile, table, waitFor } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const reps = quick ? 1 : 3;
const calmCalls = quick ? 1_000 : 2_000;
const calmWarmup = 200;
const floodAgents = 4;
const floodBatch = 500;
/** Upper bound on a flood agent's life; they are killed long before. */
const floodWallMs = 120_000;
const poolSize = 4;

// --- statistics and output (same approach as bench/foundation.ts) -------------

// --- agents ------------------------------------------------------------------------

const calmAgent = `export default async () => {
  for (let i = 0; i < ${calmWarmup}; i++) await sys.time.now();
  const out = new Array(${calmCalls});
  for (let i = 0; i < ${calmCalls}; i++) {
    const t0 = performance.now();
    await sys.time.now();
    out[i] = Math.round((performance.now() - t0) * 10000) / 10;
  }
  return out;
};
`;

const floodAgent = `export default async () => {
  const list = Array.from({ length: ${floodBatch} }, () => ({ call: "time.now" }));
  for (;;) await sys.batch(list);
};
`;

interface Sample {
  p50: number;
  p99: number;
}

interface Flooded extends Sample {
  /** Flood calls completed per second while the calm agent ran. */
  floodRate: number;
  /** Calm's calls per second. */
  calmRate: number;
  /** Per tenant: the most served jobs seen in a scheduler snapshot while calm ran. */
  served: Map<string, number>;
  stats: SchedStats;
  /** Supervisor (this process) CPU, ms per second, while calm ran. */
  supervisorMsPerS: number;
  /** Syscalls counted in each tenant's agents' usage while calm ran. */
  calls: Map<string, number>;
}

async function runCalm(runtime: Runtime): Promise<number[]> {
  await waitFor(() => runtime.pool.stats().warm > 0);
  const r = await runtime.run({ code: calmAgent, tenant: "calm" });
  if (r.reason !== "exit" || r.exitCode !== 0) throw new Error(`calm agent ended ${r.reason}: ${r.message}`);
  return r.result as number[];
}

function summarise(us: number[]): Sample {
  return { p50: percentile(us, 0.5), p99: percentile(us, 0.99) };
}

async function alone(runtime: Runtime): Promise<Sample> {
  return summarise(await runCalm(runtime));
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function underFlood(runtime: Runtime, agents = floodAgents): Promise<Flooded> {
  await waitFor(() => runtime.pool.stats().warm === poolSize && runtime.pool.stats().starting === 0, 30_000);
  const flood: Agent[] = [];
  for (let i = 0; i < agents; i++) {
    flood.push(
      await runtime.spawn({
        code: floodAgent,
        tenant: "flood",
        limits: { syscallsPerSec: 1_000_000, wallMs: floodWallMs, cpuMs: floodWallMs },
      }),
    );
  }
  const floodCalls = () => flood.reduce((n, a) => n + a.proc.usage.syscalls, 0);
  await waitFor(() => flood.every((a) => a.proc.usage.syscalls > 0), 30_000);
  // Pool refills (one process start per flood agent) finish before calm starts.
  await waitFor(() => runtime.pool.stats().starting === 0, 30_000);
  const served = new Map<string, number>();
  let stats = runtime.scheduler.stats();
  const snapshot = setInterval(() => {
    stats = runtime.scheduler.stats();
    for (const t of stats.tenants) served.set(t.tenant, Math.max(served.get(t.tenant) ?? 0, t.served));
  }, 50);
  const c0 = floodCalls();
  const t0 = performance.now();
  const cpu0 = cpuMs();
  let us: number[];
  let calmSyscalls: number;
  try {
    const r = await runtime.run({ code: calmAgent, tenant: "calm" });
    if (r.reason !== "exit" || r.exitCode !== 0) throw new Error(`calm agent ended ${r.reason}: ${r.message}`);
    us = r.result as number[];
    calmSyscalls = r.usage.syscalls;
  } finally {
    clearInterval(snapshot);
  }
  const seconds = (performance.now() - t0) / 1000;
  const supervisorMsPerS = (cpuMs() - cpu0) / seconds;
  const floodDone = floodCalls() - c0;
  const floodRate = floodDone / seconds;
  for (const a of flood) runtime.kill(a.pid, "killed", "bench: calm agent finished");
  const ended = await Promise.all(flood.map((a) => a.done));
  for (const r of ended) if (r.reason !== "killed") throw new Error(`flood agent ended ${r.reason}: ${r.message}`);
  const calls = new Map([["flood", floodDone], ["calm", calmSyscalls]]);
  const calmRate = (calmCalls + calmWarmup) / seconds;
  return { ...summarise(us), floodRate, calmRate, served, stats, supervisorMsPerS, calls };
}

// --- main ---------------------------------------------------------------------------

const started = performance.now();
const loadBefore = await loadAverage();
console.log(`\n## fairness under a flooding tenant${quick ? " (--quick)" : ""}`);
console.log(`\nDeno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}/${Deno.build.arch}`);

const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-fair-" });
const runtime = new Runtime({ dataDir, poolSize });
const rows: string[][] = [];
let fairRuns: Flooded[] = [];
try {
  await runtime.start();
  await alone(runtime); // warm-up: supervisor JIT, not counted
  for (const policy of schedPolicies as readonly SchedPolicy[]) {
    runtime.scheduler.setPolicy(policy);
    const idle: Sample[] = [];
    const flooded: Flooded[] = [];
    for (let r = 0; r < reps; r++) {
      idle.push(await alone(runtime));
      flooded.push(await underFlood(runtime));
    }
    if (policy === "fair") fairRuns = flooded;
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const ratio99 = median(flooded.map((f, i) => f.p99 / idle[i].p99));
    const ratio50 = median(flooded.map((f, i) => f.p50 / idle[i].p50));
    rows.push([
      policy,
      fmt(m(idle, "p50"), 1),
      fmt(m(idle, "p99"), 1),
      fmt(m(flooded, "p50"), 1),
      fmt(m(flooded, "p99"), 1),
      `${fmt(ratio50)}×`,
      `${fmt(ratio99)}×`,
      fmt(median(flooded.map((f) => f.calmRate)), 0),
      fmt(median(flooded.map((f) => f.floodRate)), 0),
      fmt(median(flooded.map((f) => f.supervisorMsPerS)), 0),
    ]);
  }
  if (!quick) {
    // Diagnostic: one flood agent, so the cells no longer outnumber the cores.
    runtime.scheduler.setPolicy("fair");
    const idle = await alone(runtime);
    const f = await underFlood(runtime, 1);
    rows.push([
      "fair, 1 flood agent (diagnostic, 1 run)",
      fmt(idle.p50, 1),
      fmt(idle.p99, 1),
      fmt(f.p50, 1),
      fmt(f.p99, 1),
      `${fmt(f.p50 / idle.p50)}×`,
      `${fmt(f.p99 / idle.p99)}×`,
      fmt(f.calmRate, 0),
      fmt(f.floodRate, 0),
      fmt(f.supervisorMsPerS, 0),
    ]);
  }
} finally {
  await runtime.close();
  await Deno.remove(dataDir, { recursive: true });
}

table(
  `Calm tenant's \`await sys.time.now()\` round trip in the Worker, µs (${calmCalls} calls after ${calmWarmup} warm-up; ` +
    `flood: ${floodAgents} agents × \`sys.batch\` of ${floodBatch} in a loop; medians of ${reps} repetition(s); pool ${poolSize})`,
  [
    "policy",
    "alone p50",
    "alone p99",
    "flood p50",
    "flood p99",
    "p50 flood/alone",
    "p99 flood/alone (target ≤ 2×)",
    "calm calls/s under flood",
    "flood calls/s",
    "supervisor CPU ms/s",
  ],
  rows,
);

table(
  "Scheduler stats of the fair runs (per tenant: most jobs served seen in a 50 ms snapshot while calm ran; " +
    "a flood job is one slice of at most 32 calls of a batch)",
  [
    "rep",
    "tenant",
    "`stats().tenants[].served` (jobs, max seen)",
    "vruntime at last snapshot, ms",
    "agents at last snapshot",
    "syscalls in the tenant's agents' usage while calm ran",
  ],
  fairRuns.flatMap((f, i) =>
    ["calm", "flood"].map((tenant) => {
      const last = f.stats.tenants.find((t) => t.tenant === tenant);
      return [
        String(i + 1),
        tenant,
        fmt(f.served.get(tenant) ?? 0, 0),
        last ? fmt(last.vruntime, 1) : "— (idle: record dropped)",
        last ? String(last.agents) : "—",
        fmt(f.calls.get(tenant) ?? 0, 0),
      ];
    })
  ),
);

const took = fmt((performance.now() - started) / 1000, 1);
console.log(`\n(fairness bench took ${took} s)`);
console.log(`(load average before ${loadBefore}, after ${await loadAverage()})`);
