/**
 * Foundation benchmark: real cells driven through `Runtime`.
 *
 * - spawn → first syscall seen by the kernel, cold (pool 0) and warm (pool 2),
 *   plus spawn → result for a trivial agent, next to a bare `deno run` +
 *   Worker start (spawn → first line) measured in the same run;
 * - syscall round trip as seen by the agent (`performance.now()` around
 *   `await sys.time.now()` inside the Worker) next to a bare echo over the
 *   same pipeline without the kernel (Worker → cell main thread → stdout →
 *   supervisor echo → stdin → main thread → Worker);
 * - batched (`sys.batch` of 1000 `time.now`) and pipelined (Promise.all)
 *   throughput, kernel and bare echo, and where the supervisor spends a
 *   batched call (decode, dispatch, encode; in-process, no cell);
 * - memory per live sleeping agent (cell-reported RSS, PSS from /proc, and the
 *   system-wide MemAvailable delta), idle CPU per agent.
 *
 * Run: `deno run -A bench/foundation.ts [--quick]`. Prints markdown tables;
 * p50 is the median, ratios compare numbers measured in this run.
 *
 * @module
 */

import process from "node:process";
import { type Agent, Runtime } from "../sandbox/runtime.ts";
import { cellArgs } from "../sandbox/cell/cell_host.ts";
import { agentLimitsDefault, agentLimitsMax, processesMax } from "../kernel/limits.ts";
import { decodeFrame } from "../kernel/syscall/frame.ts";
import { resolveLimits } from "../sandbox/limits.ts";
import { fmt, loadAverage, median, percentile, sleep, table, waitFor } from "./_stats.ts";
import { memAvailableMb } from "./_proc.ts";
import { withRuntime } from "./_runtime.ts";

const quick = Deno.args.includes("--quick");
/** Spawn samples per configuration. */
const spawnSamples = quick ? 30 : 100;
/** Samples of the reference and diagnostic spawn rows. */
const referenceSamples = quick ? 15 : 100;
/** Sequential round trips per round, and rounds (kernel and bare alternate). */
const rttSamples = quick ? 1000 : 5000;
const rttRounds = quick ? 2 : 3;
const rttWarmup = 300;
/** How long each throughput workload runs inside the Worker, ms. */
const throughputMs = quick ? 1000 : 1500;
const throughputRuns = quick ? 1 : 3;
const batchCalls = 1000;
const pipelineDepth = 1000;
/** Sleeping agents for the memory section. */
const liveAgents = quick ? 10 : 50;
const spawnConcurrency = 4;
const settleMs = 500;
const cpuWindowMs = quick ? 1000 : 2000;
const warmPoolSize = 2;
/** Pool of the deferred-refill diagnostic: this many samples per refill. */
const deferredPoolSize = 4;
const memoryBudgetMb = 24 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- statistics and output --------------------------------------------------

// --- workloads, shared verbatim by kernel agents and the bare echo worker ---
// Each is `async (sys, p) => result`, where `sys` offers `time.now()` and `batch()`.

const sequentialSrc = `async (sys, p) => {
  for (let i = 0; i < p.warmup; i++) await sys.time.now();
  const out = new Array(p.n);
  for (let i = 0; i < p.n; i++) {
    const t0 = performance.now();
    await sys.time.now();
    out[i] = Math.round((performance.now() - t0) * 10000) / 10;
  }
  return out;
}`;

const pipelinedSrc = `async (sys, p) => {
  const round = () => Promise.all(Array.from({ length: p.depth }, () => sys.time.now()));
  for (let i = 0; i < 3; i++) await round();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < p.ms) { await round(); calls += p.depth; }
  return { calls, ok: calls, ms: performance.now() - t0 };
}`;

const batchedSrc = `async (sys, p) => {
  const list = Array.from({ length: p.size }, () => ({ call: "time.now" }));
  for (let i = 0; i < 3; i++) await sys.batch(list);
  let calls = 0, ok = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (performance.now() - t0 < p.ms) {
      const results = await sys.batch(list);
      calls += results.length;
      for (const r of results) if (r.ok) ok++;
    }
  };
  await Promise.all(Array.from({ length: p.inflight }, lane));
  return { calls, ok, ms: performance.now() - t0 };
}`;

const workloads = { sequential: sequentialSrc, pipelined: pipelinedSrc, batched: batchedSrc };
type Workload = keyof typeof workloads;
interface Throughput {
  calls: number;
  ok: number;
  ms: number;
}

function agentCode(workload: Workload, params: Record<string, number>): string {
  return `const run = ${workloads[workload]};\nexport default () => run(sys, ${JSON.stringify(params)});\n`;
}

// --- the bare echo: the same subprocess pipeline without the kernel ----------

/** Worker of the bare echo: the prelude's call/settle path, nothing else. */
const bareWorkerSrc = `
const pending = new Map();
let nextId = 1;
const settle = (c) => { const r = pending.get(c.id); if (r) { pending.delete(c.id); r(c.value ?? null); } };
const call = (name, args = {}) => new Promise((resolve) => {
  const id = nextId++;
  pending.set(id, resolve);
  postMessage(JSON.stringify({ id, call: name, args }));
});
const batch = (calls) => {
  const frames = calls.map((c) => ({ id: nextId++, call: c.call, args: c.args ?? {} }));
  const results = frames.map((f) => new Promise((resolve) => pending.set(f.id, (value) => resolve({ ok: true, value }))));
  postMessage(JSON.stringify({ batch: frames }));
  return Promise.all(results);
};
const sys = { time: { now: () => call("time.now") }, batch };
const workloads = { ${Object.entries(workloads).map(([k, v]) => `${k}: ${v}`).join(",\n")} };
self.onmessage = async (event) => {
  const data = event.data;
  if (typeof data === "string") {
    const msg = JSON.parse(data);
    if (Array.isArray(msg.batch)) { for (const c of msg.batch) settle(c); } else settle(msg);
    return;
  }
  if (data?.t === "start") postMessage({ t: "done", result: await workloads[data.workload](sys, data.params) });
};
postMessage({ t: "ready" });
`;

/** Main thread of the bare echo: cell_main.ts's relay minus the watchdog. */
function bareMainSrc(): string {
  const workerUrl = `data:text/javascript;base64,${encoder.encode(bareWorkerSrc).toBase64()}`;
  return `
const encoder = new TextEncoder();
let queue = [];
let writing = false;
function send(line) { queue.push(line); if (!writing) void flush(); }
async function flush() {
  writing = true;
  while (queue.length > 0) {
    const bytes = encoder.encode(queue.join("\\n") + "\\n");
    queue = [];
    let offset = 0;
    while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
  }
  writing = false;
}
const worker = new Worker(${JSON.stringify(workerUrl)}, { type: "module", deno: { permissions: "none" } });
worker.onmessage = (event) => send(typeof event.data === "string" ? event.data : JSON.stringify(event.data));
const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline;
  while ((newline = buffered.indexOf("\\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.startsWith('{"t":')) worker.postMessage(JSON.parse(line));
    else if (line.length > 0) worker.postMessage(line);
  }
}
Deno.exit(0);
`;
}

/**
 * Supervisor side of the bare echo: starts the script with the cells' exact
 * flags, splits stdout into lines like `CellHost`, writes every non-control
 * line straight back to stdin with `CellHost`'s coalescing writer.
 */
class BareCell {
  readonly child: Deno.ChildProcess;
  readonly ready: Promise<void>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #out: string[] = [];
  #writing = false;
  #ready = Promise.withResolvers<void>();
  #done: PromiseWithResolvers<unknown> | null = null;

  constructor(script: string, dir: string) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [...cellArgs(agentLimitsDefault.heapMb).slice(0, -1), script],
      clearEnv: true,
      env: { DENO_DIR: dir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.ready = this.#ready.promise;
    void this.#read();
  }

  /** Run one workload in the bare Worker and return its result. */
  run(workload: Workload, params: Record<string, number>): Promise<unknown> {
    this.#done = Promise.withResolvers<unknown>();
    this.#send(JSON.stringify({ t: "start", workload, params }));
    return this.#done.promise;
  }

  async close(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.child.status;
  }

  #control(line: string): void {
    const msg = JSON.parse(line);
    if (msg.t === "ready") this.#ready.resolve();
    if (msg.t === "done") this.#done?.resolve(msg.result);
  }

  #send(line: string): void {
    this.#out.push(line);
    if (!this.#writing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0) {
        const chunk = this.#out.join("\n") + "\n";
        this.#out = [];
        await this.#writer.write(encoder.encode(chunk));
      }
    } finally {
      this.#writing = false;
    }
  }

  async #read(): Promise<void> {
    let parts: Uint8Array[] = [];
    for await (const chunk of this.child.stdout) {
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(10, start);
        parts.push(chunk.subarray(start, newline < 0 ? chunk.length : newline));
        if (newline < 0) break;
        const line = decoder.decode(parts.length === 1 ? parts[0] : concat(parts));
        parts = [];
        start = newline + 1;
        if (line.startsWith('{"t":')) this.#control(line);
        else if (line.length > 0) this.#send(line);
      }
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A scratch directory with the bare echo script in it. */
async function bareSetup(): Promise<{ dir: string; script: string }> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-bench-bare-" });
  const script = `${dir}/bare_cell.js`;
  await Deno.writeTextFile(script, bareMainSrc());
  return { dir, script };
}

// --- runtime helpers ----------------------------------------------------------

async function runAgent(runtime: Runtime, code: string, limits = {}): Promise<unknown> {
  const r = await runtime.run({ code, limits });
  if (r.reason !== "exit" || r.exitCode !== 0) throw new Error(`bench agent ended ${r.reason}: ${r.message}`);
  return r.result;
}

// --- spawn latency --------------------------------------------------------------

interface SpawnSample {
  returned: number;
  firstSyscall: number;
  result: number;
  reaped: number;
}

const firstSyscallAgent = "export default async () => { await sys.time.now(); return 1; };\n";

/** One spawn of the first-syscall agent, timed from just before `spawn()`. */
async function spawnOnce(runtime: Runtime): Promise<SpawnSample> {
  const sample = { returned: NaN, firstSyscall: NaN, result: NaN, reaped: NaN };
  let pid = -1;
  const t0 = performance.now();
  const unsubscribe = runtime.subscribe((event) => {
    const now = performance.now() - t0;
    if (event.type === "syscall" && Number.isNaN(sample.firstSyscall)) {
      pid = event.pid;
      sample.firstSyscall = now;
    }
    if (event.type === "lifecycle" && event.to === "Exiting") sample.result = now;
  });
  let agent: Agent;
  try {
    agent = await runtime.spawn({ code: firstSyscallAgent });
    sample.returned = performance.now() - t0;
    const r = await agent.done;
    sample.reaped = performance.now() - t0;
    if (r.reason !== "exit" || r.result !== 1) throw new Error(`spawn agent ended ${r.reason}: ${r.message}`);
  } finally {
    unsubscribe();
  }
  if (pid !== agent.pid) throw new Error("first syscall came from another pid");
  return sample;
}

/**
 * `spawnSamples` spawns, each with a full pool. As shipped, taking a warm cell
 * starts its replacement at once, so the sample shares the CPU with a cell
 * start; with `deferRefill` (a diagnostic) the pool's refill is suspended
 * while samples run and the pool is refilled between them.
 */
async function spawnSeries(poolSize: number, deferRefill = false, samplesCount = spawnSamples): Promise<SpawnSample[]> {
  return await withRuntime(poolSize, async (runtime) => {
    const pool = runtime.pool;
    const refill = pool.fill.bind(pool);
    if (deferRefill) pool.fill = () => Promise.resolve();
    const full = () => pool.stats().warm === poolSize && pool.stats().starting === 0;
    const samples: SpawnSample[] = [];
    await spawnOnce(runtime); // warm-up: module graph, JIT
    for (let i = 0; i < samplesCount; i++) {
      if (deferRefill && pool.stats().warm === 0) await refill();
      if (!deferRefill) await waitFor(full);
      const hitsBefore = pool.stats().warmHits;
      samples.push(await spawnOnce(runtime));
      const warm = pool.stats().warmHits > hitsBefore;
      if (warm !== poolSize > 0) throw new Error(`expected a ${poolSize > 0 ? "warm" : "cold"} cell`);
    }
    return samples;
  });
}

/**
 * Bare `deno run` of a JS file that starts a Worker, with the cells' flags and
 * a fresh DENO_DIR each time like a cell: spawn → first line ("ready").
 */
async function bareStartSeries(): Promise<number[]> {
  const { dir, script } = await bareSetup();
  const samples: number[] = [];
  try {
    for (let i = 0; i <= referenceSamples; i++) {
      const denoDir = await Deno.makeTempDir({ dir });
      const t0 = performance.now();
      const bare = new BareCell(script, denoDir);
      await bare.ready;
      if (i > 0) samples.push(performance.now() - t0);
      await bare.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return samples;
}

async function spawnSection(): Promise<void> {
  const series: [string, SpawnSample[]][] = [
    ["cold (pool 0)", await spawnSeries(0)],
    [`warm (pool ${warmPoolSize})`, await spawnSeries(warmPoolSize)],
    [
      `warm (pool ${deferredPoolSize}, refill deferred — diagnostic)`,
      await spawnSeries(deferredPoolSize, true, referenceSamples),
    ],
  ];
  const bare = await bareStartSeries();
  const samplesNote = referenceSamples === spawnSamples
    ? `${spawnSamples} samples each`
    : `${spawnSamples} samples, diagnostic and bare rows ${referenceSamples}`;
  const rows: string[][] = [];
  const add = (label: string, xs: number[]) => rows.push([label, fmt(median(xs)), fmt(percentile(xs, 0.99))]);
  for (const [name, xs] of series) {
    add(`${name}: spawn() returned`, xs.map((s) => s.returned));
    add(`${name}: spawn → first syscall`, xs.map((s) => s.firstSyscall));
    add(`${name}: spawn → result (exit frame)`, xs.map((s) => s.result));
    add(`${name}: spawn → reaped (done resolved)`, xs.map((s) => s.reaped));
  }
  add("bare `deno run` JS + Worker, fresh DENO_DIR: spawn → first line", bare);
  table(
    `Spawn latency, ms (${samplesNote}; agent: one time.now, returns 1)`,
    ["path", "p50", "p99"],
    rows,
  );
}

// --- syscall round trip and throughput -------------------------------------------

async function withBare<T>(fn: (bare: BareCell) => Promise<T>): Promise<T> {
  const { dir, script } = await bareSetup();
  const bare = new BareCell(script, dir);
  try {
    await bare.ready;
    return await fn(bare);
  } finally {
    await bare.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function roundTripSection(runtime: Runtime): Promise<void> {
  const params = { n: rttSamples, warmup: rttWarmup };
  const kernel: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < rttRounds; round++) {
    bare.push(...await withBare((b) => b.run("sequential", params)) as number[]);
    kernel.push(...await runAgent(runtime, agentCode("sequential", params)) as number[]);
  }
  const row = (label: string, xs: number[]) => [label, fmt(median(xs), 1), fmt(percentile(xs, 0.99), 1)];
  const ratio = (p: number) => fmt(percentile(kernel, p) / percentile(bare, p));
  table(
    `Syscall round trip as seen by the agent, µs (${rttRounds} × ${rttSamples} sequential calls each)`,
    ["path", "p50", "p99"],
    [
      row("`await sys.time.now()` through the kernel", kernel),
      row("bare echo, same pipeline, no kernel", bare),
      ["ratio kernel / bare (target ≤ 1.5×)", `${ratio(0.5)}×`, `${ratio(0.99)}×`],
    ],
  );
}

/** Median ok calls/s and total refused calls of one throughput series. */
interface Rate {
  perSec: number;
  refused: number;
}

function summarise(runs: Throughput[]): Rate {
  return {
    perSec: median(runs.map((t) => t.ok / (t.ms / 1000))),
    refused: runs.reduce((n, t) => n + t.calls - t.ok, 0),
  };
}

/** `throughputRuns` rounds of every series, interleaved so machine noise hits all alike. */
async function measureThroughput(runtime: Runtime): Promise<Record<string, Rate>> {
  const batched = { size: batchCalls, ms: throughputMs, inflight: 1 };
  const batched2 = { ...batched, inflight: 2 };
  const pipelined = { depth: pipelineDepth, ms: throughputMs };
  const raised = { syscallsPerSec: agentLimitsMax.syscallsPerSec };
  await runAgent(runtime, agentCode("batched", { ...batched, ms: 300 }), raised); // warm-up (JIT)
  const runs: Record<string, Throughput[]> = { kb: [], kbd: [], kb2: [], kp: [], bb: [], bb2: [], bp: [] };
  for (let round = 0; round < throughputRuns; round++) {
    runs.kb.push(await runAgent(runtime, agentCode("batched", batched), raised) as Throughput);
    runs.kbd.push(await runAgent(runtime, agentCode("batched", batched)) as Throughput);
    runs.kb2.push(await runAgent(runtime, agentCode("batched", batched2), raised) as Throughput);
    runs.kp.push(await runAgent(runtime, agentCode("pipelined", pipelined), raised) as Throughput);
    await withBare(async (b) => {
      runs.bb.push(await b.run("batched", batched) as Throughput);
      runs.bb2.push(await b.run("batched", batched2) as Throughput);
      runs.bp.push(await b.run("pipelined", pipelined) as Throughput);
    });
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, summarise(v)]));
}

async function throughputSection(runtime: Runtime): Promise<void> {
  const r = await measureThroughput(runtime);
  const row = (label: string, t: Rate, bare?: Rate) => [
    label,
    fmt(t.perSec, 0),
    t === bare ? "—" : fmt(t.refused, 0),
    bare === undefined || t === bare ? "—" : `${fmt(t.perSec / bare.perSec)}×`,
  ];
  const raised = `syscallsPerSec ${agentLimitsMax.syscallsPerSec}`;
  table(
    `Syscall throughput, \`time.now\` calls/s (median of ${throughputRuns} runs of ~${throughputMs} ms, one agent each)`,
    ["workload", "ok calls/s", "refused (EAGAIN)", "of bare echo"],
    [
      row(`kernel, batched ${batchCalls}/frame, ${raised} (target ≥ 200k)`, r.kb, r.bb),
      row(`kernel, batched ${batchCalls}/frame, default ${agentLimitsDefault.syscallsPerSec}/s`, r.kbd),
      row(`kernel, batched ${batchCalls}/frame, 2 frames in flight, ${raised}`, r.kb2, r.bb2),
      row(`kernel, pipelined ${pipelineDepth} in flight, ${raised}`, r.kp, r.bp),
      row(`bare echo, batched ${batchCalls}/frame`, r.bb, r.bb),
      row(`bare echo, batched ${batchCalls}/frame, 2 frames in flight`, r.bb2, r.bb2),
      row(`bare echo, pipelined ${pipelineDepth} in flight`, r.bp, r.bp),
    ],
  );
}

/** Median µs per call of `body`, which handles one `batchCalls` batch. */
async function perCallUs(body: () => unknown): Promise<number> {
  const rounds = quick ? 50 : 200;
  for (let i = 0; i < 20; i++) await body();
  const xs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await body();
    xs.push((performance.now() - t0) * 1000 / rounds / batchCalls);
  }
  return median(xs);
}

/**
 * Where the supervisor spends a batched call, in-process (no cell): the steps
 * `CellHost` + `Runtime` take for one `{"batch": [...1000 time.now]}` line.
 */
async function supervisorCostSection(runtime: Runtime): Promise<void> {
  const limits = resolveLimits({ syscallsPerSec: agentLimitsMax.syscallsPerSec });
  const proc = runtime.table.create({ tenant: "bench", capabilities: [], limits, nowMs: performance.now() });
  for (const to of ["Initializing", "Ready", "Running"] as const) runtime.table.transition(proc, to);
  const frames = Array.from({ length: batchCalls }, (_, i) => ({ id: i + 1, call: "time.now", args: {} }));
  const line = JSON.stringify({ batch: frames });
  const bytes = encoder.encode(line).length;
  const decoded = decodeFrame(line, bytes);
  if (decoded.kind !== "batch") throw new Error("bench batch did not decode");
  const dispatchAll = () => Promise.all(decoded.frames.map((f) => runtime.dispatcher.dispatch(proc, f)));
  const done = await dispatchAll();
  const rows: [string, number][] = [
    ["`JSON.parse` of the line (reference)", await perCallUs(() => JSON.parse(line))],
    ["`decodeFrame` (null-prototype reviver)", await perCallUs(() => decodeFrame(line, bytes))],
    ["`Dispatcher.dispatch` × 1000 with `Promise.all`", await perCallUs(dispatchAll)],
    [
      "`JSON.stringify` + encode of the completions",
      await perCallUs(() => encoder.encode(JSON.stringify({ batch: done }))),
    ],
  ];
  for (const to of ["Exiting", "Zombie", "Reaped"] as const) runtime.table.transition(proc, to);
  const total = rows.slice(1).reduce((n, [, us]) => n + us, 0);
  table(
    `Supervisor CPU per batched call, in-process (no cell; ${batchCalls}-call \`time.now\` batch)`,
    ["step", "µs per call"],
    [
      ...rows.map(([label, us]) => [label, fmt(us, 2)]),
      ["sum of the supervisor steps", fmt(total, 2)],
      ["implied single-core ceiling, calls/s", fmt(1e6 / total, 0)],
    ],
  );
}

// --- memory and idle CPU per live agent ---------------------------------------------

/** PSS, private anonymous memory (MB) and thread count of an OS process, from /proc. */
async function procStats(osPid: number): Promise<{ pssMb: number; anonMb: number; threads: number }> {
  const rollup = await Deno.readTextFile(`/proc/${osPid}/smaps_rollup`).catch(() => "");
  const status = await Deno.readTextFile(`/proc/${osPid}/status`).catch(() => "");
  const pssKb = Number(/^Pss:\s+(\d+) kB$/m.exec(rollup)?.[1] ?? NaN);
  const anonKb = Number(/^Anonymous:\s+(\d+) kB$/m.exec(rollup)?.[1] ?? NaN);
  const threads = Number(/^Threads:\s+(\d+)$/m.exec(status)?.[1] ?? NaN);
  return { pssMb: pssKb / 1024, anonMb: anonKb / 1024, threads };
}

/** Busy and total jiffies of all CPUs, from /proc/stat. */
async function cpuJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - (v[4] ?? 0), total };
}

const sleeperAgent = "export default async () => { await new Promise((r) => setTimeout(r, 3_600_000)); };\n";

/** Start `liveAgents` sleepers, spawnConcurrency at a time. */
async function startSleepers(runtime: Runtime): Promise<Agent[]> {
  const agents: Agent[] = [];
  let next = 0;
  const lane = async () => {
    while (next < liveAgents) {
      next++;
      agents.push(await runtime.spawn({ code: sleeperAgent, limits: { wallMs: 600_000 } }));
    }
  };
  await Promise.all(Array.from({ length: spawnConcurrency }, lane));
  return agents;
}

/** Idle CPU over a window: ms of CPU per second, per cell and for the supervisor; machine busy fraction. */
async function idleCpu(agents: Agent[]): Promise<{ cellMsPerS: number; supervisorMsPerS: number; busy: number }> {
  const cellCpu = () => agents.reduce((n, a) => n + a.proc.usage.cpuMs, 0);
  const selfCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const [c0, s0, j0, t0] = [cellCpu(), selfCpu(), await cpuJiffies(), performance.now()];
  await sleep(cpuWindowMs);
  const [c1, s1, j1, t1] = [cellCpu(), selfCpu(), await cpuJiffies(), performance.now()];
  const seconds = (t1 - t0) / 1000;
  return {
    cellMsPerS: (c1 - c0) / agents.length / seconds,
    supervisorMsPerS: (s1 - s0) / seconds,
    busy: (j1.busy - j0.busy) / (j1.total - j0.total),
  };
}

interface MemoryMeasure {
  rss: number[];
  pss: number[];
  anon: number[];
  threads: number[];
  /** MemAvailable drop while the agents started, and rise once they were reaped, MB. */
  dropMb: number;
  riseMb: number;
  cpu: { cellMsPerS: number; supervisorMsPerS: number; busy: number };
}

async function measureMemory(): Promise<MemoryMeasure> {
  return await withRuntime(0, async (runtime) => {
    await sleep(300);
    const before = await memAvailableMb();
    const agents = await startSleepers(runtime);
    await sleep(settleMs);
    await waitFor(() => agents.every((a) => a.proc.usage.peakRssMb > 0));
    const live = await memAvailableMb();
    const stats = await Promise.all(agents.map((a) => procStats(a.cell!.osPid)));
    const cpu = await idleCpu(agents);
    const running = agents.filter((a) => a.proc.state === "Running").length;
    if (running !== liveAgents) throw new Error(`only ${running} of ${liveAgents} sleepers are running`);
    const rss = agents.map((a) => a.proc.usage.peakRssMb);
    await Promise.all(agents.map((a) => (runtime.kill(a.pid), a.done)));
    await sleep(settleMs);
    const after = await memAvailableMb();
    return {
      rss,
      pss: stats.map((s) => s.pssMb),
      anon: stats.map((s) => s.anonMb),
      threads: stats.map((s) => s.threads),
      dropMb: before - live,
      riseMb: after - live,
      cpu,
    };
  });
}

async function memorySection(): Promise<void> {
  const m = await measureMemory();
  const fit = (mb: number) => mb > 0 ? fmt(Math.floor(memoryBudgetMb / mb), 0) : "n/a";
  const row = (label: string, mb: number) => [label, fmt(mb, 1), fit(mb)];
  const cores = navigator.hardwareConcurrency;
  const supervisorPerAgent = m.cpu.supervisorMsPerS / liveAgents;
  const cpuPerAgent = m.cpu.cellMsPerS + supervisorPerAgent;
  table(
    `Memory per live sleeping agent (${liveAgents} agents, default limits, pool 0)`,
    ["measure", "MB per agent", `agents in ${memoryBudgetMb / 1024} GB`],
    [
      row("cell-reported RSS (`usage.peakRssMb`), p50", median(m.rss)),
      row("cell PSS (/proc/<pid>/smaps_rollup), p50", median(m.pss)),
      row("cell private anonymous memory (smaps_rollup `Anonymous`), p50", median(m.anon)),
      row("system MemAvailable drop while starting / agents", m.dropMb / liveAgents),
      row("system MemAvailable rise after reaping / agents", m.riseMb / liveAgents),
    ],
  );
  table(
    `Other bounds on live agents (${liveAgents} idle agents, ${cores} cores, ${fmt(cpuWindowMs / 1000, 0)} s window)`,
    ["measure", "value"],
    [
      ["threads per cell process (p50)", fmt(median(m.threads), 0)],
      ["process table cap (`processesMax`)", fmt(processesMax, 0)],
      ["idle CPU per cell process (tick accounting; see bench/idle.ts), ms/s", fmt(m.cpu.cellMsPerS, 2)],
      ["supervisor CPU per idle agent (usage frames), ms/s", fmt(supervisorPerAgent, 2)],
      ["machine CPU busy during the idle window (all tenants)", `${fmt(m.cpu.busy * 100, 1)} %`],
      ["idle agents until their overhead fills all cores", fmt(Math.floor(cores * 1000 / cpuPerAgent), 0)],
    ],
  );
}

// --- main ---------------------------------------------------------------------------

const sectionSeconds: string[] = [];

/** Run one section and note how long it took. */
async function timed(name: string, fn: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await fn();
  sectionSeconds.push(`${name} ${fmt((performance.now() - started) / 1000, 1)} s`);
}

const t0 = performance.now();
const loadBefore = await loadAverage();
console.log(`\n## foundation: cells and syscalls${quick ? " (--quick)" : ""}`);
console.log(`\nDeno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}/${Deno.build.arch}`);
await timed("spawn", spawnSection);
await withRuntime(warmPoolSize, async (runtime) => {
  await timed("round trip", () => roundTripSection(runtime));
  await timed("throughput", () => throughputSection(runtime));
  await timed("supervisor", () => supervisorCostSection(runtime));
});
await timed("memory", memorySection);
const took = fmt((performance.now() - t0) / 1000, 1);
console.log(`\n(foundation bench took ${took} s: ${sectionSeconds.join(", ")})`);
console.log(`(load average before ${loadBefore}, after ${await loadAverage()})`);
