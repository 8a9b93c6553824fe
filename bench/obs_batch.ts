/**
 * Supervisor CPU per batched syscall, observability off vs on (default
 * sampling) vs a `trace: "full"` agent, in one run and in-process: the
 * steps the supervisor takes for one `{"batch": [...1000 time.now]}` line of
 * a real agent (decode, dispatch in slices of `batchSliceCalls` with
 * `Promise.all`, stringify and encode the answer), against the `Runtime` of
 * each mode, each hosting one real sleeping agent (so the runtime's own
 * observer, the agent's subject and span are the ones a cell's calls meet).
 * The hub is metered as the API meters it (`/metrics` series).
 *
 * Modes interleave rep by rep; between batches the loop yields to timers,
 * so the sampler re-tunes its rates as it does in a server. CPU is the
 * process's (`process.cpuUsage`, user + system) over the batches of a rep;
 * the cells are asleep.
 *
 *   deno run -A bench/obs_batch.ts [--quick]
 *
 * @module
 */

import { decodeFrame } from "../kernel/syscall/frame.ts";
import { Registry } from "../observability/metrics.ts";
import { batchSliceCalls } from "../sandbox/limits.ts";
import { Runtime } from "../sandbox/runtime.ts";
import { agentLimitsMax } from "../kernel/mod.ts";
import { fmt, loadAverage, median, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const reps = quick ? 5 : 11;
const batchesPerRep = quick ? 100 : 300;
const batchCalls = 1000;
const encoder = new TextEncoder();

type Mode = "off" | "on" | "full";
const modes: readonly Mode[] = ["off", "on", "full"];
const labels: Record<Mode, string> = {
  off: "observability off",
  on: "observability on, default sampling",
  full: 'observability on, agent with `trace: "full"`',
};

interface Setup {
  runtime: Runtime;
  dataDir: string;
  batch: () => Promise<void>;
}

async function setup(mode: Mode): Promise<Setup> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-obs-batch-" });
  const runtime = new Runtime({ dataDir, poolSize: 1, observability: mode !== "off" });
  await runtime.start();
  if (mode !== "off") runtime.obs.meter(new Registry());
  const agent = await runtime.spawn({
    code: "export default async () => { await new Promise((r) => setTimeout(r, 3_600_000)); };\n",
    tenant: "bench",
    limits: { syscallsPerSec: agentLimitsMax.syscallsPerSec, wallMs: 3_600_000, cpuMs: 3_600_000 },
    ...(mode === "full" ? { trace: "full" as const } : {}),
  });
  const proc = agent.proc;
  const line = JSON.stringify({
    batch: Array.from({ length: batchCalls }, (_, i) => ({ id: i + 1, call: "time.now" })),
  });
  const bytes = encoder.encode(line).length;
  const batch = async () => {
    const decoded = decodeFrame(line, bytes);
    if (decoded.kind !== "batch") throw new Error("bench batch did not decode");
    const frames = decoded.frames;
    const done = [];
    for (let from = 0; from < frames.length; from += batchSliceCalls) {
      const slice = frames.slice(from, from + batchSliceCalls);
      done.push(...await Promise.all(slice.map((f) => runtime.dispatcher.dispatch(proc, f))));
    }
    encoder.encode(JSON.stringify({ batch: done }));
  };
  return { runtime, dataDir, batch };
}

const yieldToTimers = () => new Promise((r) => setTimeout(r, 0));

async function rep(s: Setup): Promise<number> {
  let cpuUs = 0;
  for (let i = 0; i < batchesPerRep; i++) {
    const before = process.cpuUsage();
    await s.batch();
    const d = process.cpuUsage(before);
    cpuUs += d.user + d.system;
    await yieldToTimers();
  }
  return cpuUs / (batchesPerRep * batchCalls);
}

console.log(`load average at start: ${await loadAverage()}`);
const setups = {} as Record<Mode, Setup>;
for (const mode of modes) setups[mode] = await setup(mode);
for (const mode of modes) for (let i = 0; i < 30; i++) await setups[mode].batch(); // warm-up
const us: Record<Mode, number[]> = { off: [], on: [], full: [] };
for (let r = 0; r < reps; r++) {
  const order = r % 2 === 0 ? modes : [...modes].reverse();
  for (const mode of order) us[mode].push(await rep(setups[mode]));
}
const offUs = median(us.off);
const rows = modes.map((mode) => {
  const m = median(us[mode]);
  const paired = us[mode].map((x, i) => (x - us.off[i]) / us.off[i] * 100);
  return [
    labels[mode],
    fmt(m, 3),
    fmt(Math.min(...us[mode]), 3),
    mode === "off" ? "—" : `${fmt((m - offUs) / offUs * 100, 1)} %`,
    mode === "off" ? "—" : `${fmt(median(paired), 1)} %`,
  ];
});
table(
  `Supervisor CPU per batched \`time.now\` (in-process, ${reps} reps × ${batchesPerRep} batches of ${batchCalls})`,
  ["mode", "µs CPU per call (median)", "best rep", "on vs off (medians)", "on vs off (median of paired reps)"],
  rows,
);
const on = setups.on.runtime.obs;
const full = setups.full.runtime.obs;
table("What the hubs kept", ["mode", "ring events", "sampled out", "syscall keep-rate at the end"], [
  ["on", String(on.ring.emitted), String(on.sampledOut), fmt(on.sampler.rate("syscall"), 4)],
  ["full", String(full.ring.emitted), String(full.sampledOut), fmt(full.sampler.rate("syscall"), 4)],
]);
console.log(`load average at end: ${await loadAverage()}`);
for (const mode of modes) {
  for (const agent of setups[mode].runtime.agents()) setups[mode].runtime.kill(agent.proc.pid);
  await setups[mode].runtime.close();
  await Deno.remove(setups[mode].dataDir, { recursive: true });
}
