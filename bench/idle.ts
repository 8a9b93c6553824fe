/**
 * What an idle agent costs, measured on many live ones: CPU per second of
 * its cell (every thread, from /proc/<pid>/task/<tid>/schedstat, which
 * counts nanoseconds where the 4 ms scheduler tick would not) and of the
 * supervisor, memory per agent (PSS, private dirty pages), and how many idle
 * agents this machine holds by CPU and by memory. Then how soon after being
 * idle an agent's limit still stops it: a busy loop started by a timer
 * callback, and one woken by `Atomics.waitAsync` timing out (V8's own
 * timer). Both wake the cell's watchdog through the prelude; a wake the
 * cell does not see is bounded by the idle sample interval.
 *
 *     deno run -A bench/idle.ts [--quick] [--agents N]
 *
 * @module
 */

import { Runtime } from "../sandbox/mod.ts";
import { watchdogIdleMsMax } from "../kernel/mod.ts";
import { fmt, loadAverage, median, sleep, table, waitFor } from "./_stats.ts";
import { memAvailableMb } from "./_proc.ts";
import { withRuntime } from "./_runtime.ts";

const quick = Deno.args.includes("--quick");
const agentsArg = Deno.args.indexOf("--agents");
const agentsCount = agentsArg >= 0 ? Number(Deno.args[agentsArg + 1]) : quick ? 60 : 300;
const windowMs = quick ? 3_000 : 6_000;
/** Agents per tenant (under the default concurrent-agent quota of 32). */
const perTenant = 25;
const startLanes = 4;
const memoryBudgetMb = 24 * 1024;
const limitRuns = quick ? 2 : 3;

const sleeper = "export default async () => { await new Promise((r) => setTimeout(r, 3_600_000)); };\n";

/** Nanoseconds on CPU of every live thread of `pid` (0 if it is gone). */
async function threadsCpuNs(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for await (const e of Deno.readDir(`/proc/${pid}/task`)) {
      const text = await Deno.readTextFile(`/proc/${pid}/task/${e.name}/schedstat`).catch(() => "");
      if (text) out.set(e.name, Number(text.split(" ")[0]));
    }
  } catch { /* gone */ }
  return out;
}

/** CPU of threads alive at both readings, ms (threads that came or went are left out). */
function deltaMs(before: Map<string, number>, after: Map<string, number>): number {
  let ns = 0;
  for (const [tid, v] of after) {
    const b = before.get(tid);
    if (b !== undefined) ns += v - b;
  }
  return ns / 1e6;
}

async function smaps(pid: number): Promise<{ pss: number; privateDirty: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`).catch(() => "");
  const mb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text)?.[1] ?? NaN) / 1024;
  return { pss: mb("Pss"), privateDirty: mb("Private_Dirty") };
}

interface IdleMeasure {
  cellMsPerS: number[];
  supervisorMsPerS: number;
  pss: number[];
  privateDirty: number[];
  memDropMb: number;
  startSeconds: number;
}

async function measureIdle(runtime: Runtime): Promise<IdleMeasure> {
  const freeBefore = await memAvailableMb();
  const started = performance.now();
  const agents: Awaited<ReturnType<Runtime["spawn"]>>[] = [];
  let next = 0;
  const lane = async () => {
    while (next < agentsCount) {
      const i = next++;
      agents.push(
        await runtime.spawn({
          tenant: `idle-${Math.floor(i / perTenant)}`,
          code: sleeper,
          limits: { wallMs: 3_600_000, rssMb: 64 },
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: startLanes }, lane));
  const startSeconds = (performance.now() - started) / 1000;
  // Every agent has made its first turn and its watchdog has backed off to the idle interval.
  await waitFor(() => agents.every((a) => a.proc.usage.peakRssMb > 0), 120_000);
  await sleep(2 * watchdogIdleMsMax + 500);
  const freeLive = await memAvailableMb();
  const pids = agents.map((a) => a.cell!.osPid);
  const before = await Promise.all(pids.map(threadsCpuNs));
  const selfBefore = await threadsCpuNs(Deno.pid);
  const t0 = performance.now();
  await sleep(windowMs);
  const after = await Promise.all(pids.map(threadsCpuNs));
  const selfAfter = await threadsCpuNs(Deno.pid);
  const seconds = (performance.now() - t0) / 1000;
  const mem = await Promise.all(pids.map(smaps));
  const running = agents.filter((a) => a.proc.state === "Running").length;
  if (running !== agentsCount) throw new Error(`only ${running} of ${agentsCount} idle agents are running`);
  await Promise.all(agents.map((a) => (runtime.kill(a.pid), a.done)));
  return {
    cellMsPerS: pids.map((_, i) => deltaMs(before[i], after[i]) / seconds),
    supervisorMsPerS: deltaMs(selfBefore, selfAfter) / seconds,
    pss: mem.map((m) => m.pss),
    privateDirty: mem.map((m) => m.privateDirty),
    memDropMb: freeBefore - freeLive,
    startSeconds,
  };
}

/**
 * An agent that idles past the watchdog's back-off, then loops until its CPU
 * limit ends it: woken by a timer (the cell is told), or by
 * `Atomics.waitAsync` timing out (V8's own timer, which the cell does not see).
 */
function loopAfterIdle(wake: Wake): string {
  const ms = 3 * watchdogIdleMsMax;
  const idle = wake === "timer"
    ? `await new Promise((r) => setTimeout(r, ${ms}));`
    : `await Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms}).value;`;
  return `export default async () => { ${idle} for (;;) {} };\n`;
}

type Wake = "timer" | "unseen";

const cpuLimitMs = 300;

/** CPU the agent had used when its limit ended it, past the limit, ms (the cell's own count). */
async function overshootMs(runtime: Runtime, wake: Wake): Promise<number> {
  const result = await runtime.run({ code: loopAfterIdle(wake), limits: { cpuMs: cpuLimitMs, wallMs: 30_000 } });
  if (result.reason !== "cpu") throw new Error(`expected a cpu limit, got ${result.reason}: ${result.message}`);
  return result.usage.cpuMs - cpuLimitMs;
}

const load = await loadAverage();
const cores = navigator.hardwareConcurrency;
await withRuntime(0, async (runtime) => {
  const m = await measureIdle(runtime);
  const cell = median(m.cellMsPerS);
  const cellMean = m.cellMsPerS.reduce((a, b) => a + b, 0) / agentsCount;
  const supervisor = m.supervisorMsPerS / agentsCount;
  const perAgent = cellMean + supervisor;
  const pss = median(m.pss);
  const dirty = median(m.privateDirty);
  table(
    `Idle agents (${agentsCount} live sleepers in ${Math.ceil(agentsCount / perTenant)} tenants, ${
      fmt(windowMs / 1000, 0)
    } s window, ${cores} cores, load before: ${load}; started in ${fmt(m.startSeconds, 1)} s)`,
    ["measure", "value"],
    [
      ["cell CPU per idle agent (all threads), ms/s, p50", fmt(cell, 3)],
      ["cell CPU per idle agent, ms/s, mean / max", `${fmt(cellMean, 3)} / ${fmt(Math.max(...m.cellMsPerS), 3)}`],
      ["supervisor CPU per idle agent, ms/s", fmt(supervisor, 3)],
      ["total CPU per idle agent (cell mean + supervisor), ms/s", fmt(perAgent, 3)],
      ["idle agents until their CPU fills all cores", fmt(Math.floor(cores * 1000 / perAgent), 0)],
      ["PSS per agent, MB, p50", fmt(pss, 1)],
      ["private dirty memory per agent, MB, p50", fmt(dirty, 1)],
      ["MemAvailable drop per agent, MB", fmt(m.memDropMb / agentsCount, 1)],
      [`idle agents in ${memoryBudgetMb / 1024} GB by private memory`, fmt(Math.floor(memoryBudgetMb / dirty), 0)],
    ],
  );
  const rows: string[][] = [];
  for (const wake of ["timer", "unseen"] as const) {
    const over: number[] = [];
    for (let i = 0; i < limitRuns; i++) over.push(await overshootMs(runtime, wake));
    rows.push([
      wake === "timer"
        ? "a timer callback (the cell is told)"
        : "`Atomics.waitAsync` timing out (V8's own timer; wrapped, so the cell is told)",
      over.map((x) => fmt(x, 0)).join(", "),
    ]);
  }
  table(
    `A busy loop after ${
      fmt(3 * watchdogIdleMsMax / 1000, 0)
    } s idle, CPU limit ${cpuLimitMs} ms: CPU used past the limit when it ended, ms (${limitRuns} runs; idle sample interval ${watchdogIdleMsMax} ms)`,
    ["loop started by", "overshoot, ms"],
    rows,
  );
});
