/**
 * agentos next to the in-process sandboxes users pick for speed, in one run:
 * agentos through a `Runtime` in this process (`local`) and through a real
 * server process over HTTP (`POST /v1/agents`, `wait: true`), `isolated-vm`
 * (V8 isolates under Node; installed with npm into a temp prefix) and
 * `quickjs-emscripten` (QuickJS in WASM, in this Deno process).
 *
 * Workloads, the same for every peer, interleaved peer by peer so that a
 * change of machine load hits every column alike:
 * - run to completion "hello": create a sandbox, run a program that calls a
 *   host log function with "hello" and returns it, dispose; p50/p99 and CPU
 *   per run;
 * - sustained runs/s with 1, 4 and 16 concurrent clients;
 * - host-call round trip timed inside the sandbox;
 * - memory per live sandbox (N live sandboxes; RSS and PSS of every process
 *   involved, cells included, / N);
 * - containment of a heap bomb and a busy loop: does the host survive, how
 *   long until the sandbox is stopped.
 *
 * Run: `deno run -A bench/peers.ts [--quick]`. Prints markdown tables; every
 * ratio is "this column ÷ agentos local" from this run.
 *
 * @module
 */

import { type AgentosSurface, helloAgent, hostCallAgent, httpSurface, localSurface } from "./_peer_agentos.ts";
import { ivmVersion, type NodePeer, startIvm } from "./_peer_ivm.ts";
import { QjsPeer, qjsVersion } from "./_peer_qjs.ts";
import { childPids, treeCpuMs } from "./_proc.ts";
import { fmt, loadAverage, median, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const helloRuns = quick ? 30 : 200;
const helloWarmup = 5;
const sustainMs = quick ? 1_500 : 3_000;
const sustainClients = [1, 4, 16];
const hostCalls = quick ? 1_000 : 3_000;
const hostWarmup = 200;
const liveSandboxes = quick ? 8 : 20;
const containRuns = quick ? 1 : 2;
/** Every peer's heap cap, MB, and CPU/time budget of the busy loop, ms. */
const memoryMb = 64;
const budgetMs = 1_000;
/** The warm pool of both agentos surfaces (the server's default). */
const poolSize = 2;
const heapBomb = "const a = []; while (true) a.push(new Array(100000).fill(1.5));";
const busyLoop = "while (true) {}";

interface Latency {
  lat: number[];
  cpuMs: number;
  runs: number;
  /** Median of the agents' own `usage.cpuMs` (cell CPU as the cell measured it), agentos only. */
  agentCpuMs?: number;
  failed: number;
}
interface Sustain extends Latency {
  elapsedMs: number;
}
interface Contained {
  stopMs: number;
  message: string;
  survived: boolean;
}

/** One column of every table. */
interface Column {
  name: string;
  hello(): Promise<Latency>;
  sustain(clients: number): Promise<Sustain>;
  hostCall(): Promise<{ lat: number[]; totalMs: number }>;
  memory(): Promise<{ rss: number; pss: number; processes: string }>;
  contain(kind: "heap" | "busy"): Promise<Contained>;
  close(): Promise<void>;
}

// --- agentos ------------------------------------------------------------------

/** Run `one` in `clients` loops until `ms` passed (or `count` runs when given); CPU from `cpu` after `settle`. */
async function drive(
  one: () => Promise<{ ok: boolean; agentCpuMs?: number }>,
  cpu: () => number,
  settle: () => Promise<void>,
  clients: number,
  limit: { ms?: number; count?: number },
): Promise<Sustain> {
  const lat: number[] = [], agentCpu: number[] = [];
  let failed = 0, started = 0;
  const c0 = cpu();
  const t0 = performance.now();
  const more = () => limit.count !== undefined ? started < limit.count : performance.now() - t0 < limit.ms!;
  const client = async () => {
    while (more()) {
      started++;
      const a = performance.now();
      const r = await one();
      if (!r.ok) failed++;
      else lat.push(performance.now() - a);
      if (r.agentCpuMs !== undefined) agentCpu.push(r.agentCpuMs);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const elapsedMs = performance.now() - t0;
  await settle();
  const runs = lat.length + failed;
  return { lat, failed, runs, elapsedMs, cpuMs: (cpu() - c0) / runs, agentCpuMs: median(agentCpu) };
}

function agentosColumn(s: AgentosSurface): Column {
  const one = async () => {
    const r = await s.run(helloAgent);
    return { ok: r.reason === "exit" && r.result === "hello", agentCpuMs: r.cpuMs };
  };
  const cpu = () => s.cpuMs();
  const settle = () => s.settle();
  return {
    name: s.label,
    async hello() {
      for (let i = 0; i < helloWarmup; i++) await one();
      await settle();
      return await drive(one, cpu, settle, 1, { count: helloRuns });
    },
    sustain: async (clients) => {
      await settle();
      return await drive(one, cpu, settle, clients, { ms: sustainMs });
    },
    async hostCall() {
      const r = await s.run(hostCallAgent(hostCalls, hostWarmup));
      if (r.reason !== "exit") throw new Error(`${s.label} host call: ${r.reason} ${r.message}`);
      return r.result as { lat: number[]; totalMs: number };
    },
    async memory() {
      await settle();
      const m0 = s.memory();
      const release = await s.holdLive(liveSandboxes);
      await s.settle(liveSandboxes);
      const m1 = s.memory();
      await release();
      return { rss: m1.rss - m0.rss, pss: m1.pss - m0.pss, processes: `${m0.processes} → ${m1.processes}` };
    },
    async contain(kind) {
      await settle();
      const t0 = performance.now();
      const r = await s.run(
        kind === "heap" ? heapBomb : busyLoop,
        kind === "heap" ? { memoryMb } : { cpuMs: budgetMs },
      );
      const stopMs = performance.now() - t0;
      const cpu = r.cpuMs === undefined ? "" : ` (cell CPU ${fmt(r.cpuMs, 0)} ms)`;
      const message = `${r.reason}${r.code ? ` ${r.code}` : ""}: ${(r.message ?? "").slice(0, 70)}${cpu}`;
      return { stopMs, message, survived: await s.alive() };
    },
    close: () => s.close(),
  };
}

// --- isolated-vm ----------------------------------------------------------------

function ivmColumn(node: NodePeer): Column {
  type Run = { lat: number[]; cpuMs: number; runs?: number; failed?: number; elapsedMs?: number };
  const latency = (r: Run, runs: number): Sustain => ({
    lat: r.lat,
    cpuMs: r.cpuMs / runs,
    runs,
    failed: r.failed ?? 0,
    elapsedMs: r.elapsedMs ?? NaN,
  });
  return {
    name: `isolated-vm ${ivmVersion} (Node ${node.version})`,
    hello: async () => latency(await node.call<Run>("hello", { n: helloRuns, warmup: helloWarmup }), helloRuns),
    async sustain(clients) {
      const r = await node.call<Run & { runs: number }>("sustain", { clients, ms: sustainMs });
      return latency(r, r.runs + (r.failed ?? 0));
    },
    hostCall: () => node.call("hostcall", { n: hostCalls, warmup: hostWarmup }),
    async memory() {
      type Mem = { rss: number; pss: number };
      const r = await node.call<{ before: Mem; after: Mem }>("memory", { n: liveSandboxes });
      return { rss: r.after.rss - r.before.rss, pss: r.after.pss - r.before.pss, processes: "1" };
    },
    async contain(kind) {
      const r = await node.call<{ stopMs: number; message: string }>("contain", { kind, budgetMs });
      return { ...r, survived: await node.alive() };
    },
    close: () => node.close(),
  };
}

// --- QuickJS --------------------------------------------------------------------

async function qjsColumn(skip: () => number[]): Promise<Column> {
  const peer = await QjsPeer.start(memoryMb);
  const one = async () => {
    await Promise.resolve(); // lets the other clients' loops take their turn on this thread
    peer.hello();
    return { ok: true };
  };
  const cpu = () => treeCpuMs(Deno.pid, skip());
  const settle = () => Promise.resolve();
  return {
    name: `quickjs-emscripten ${qjsVersion} (WASM, in Deno)`,
    async hello() {
      for (let i = 0; i < helloWarmup; i++) peer.hello();
      return await drive(one, cpu, settle, 1, { count: helloRuns });
    },
    sustain: (clients) => drive(one, cpu, settle, clients, { ms: sustainMs }),
    hostCall: () => Promise.resolve(peer.hostCall(hostCalls, hostWarmup)),
    async memory() {
      // A fresh WASM module: its memory is only these sandboxes (plus the module's own base, counted once).
      const fresh = await QjsPeer.start(memoryMb, true);
      const m0 = Deno.memoryUsage().rss;
      const release = fresh.holdLive(liveSandboxes);
      const m1 = Deno.memoryUsage().rss;
      release();
      return { rss: m1 - m0, pss: NaN, processes: "1 (this one)" };
    },
    contain(kind) {
      const r = peer.contain(kind, budgetMs);
      peer.hello();
      return Promise.resolve({ ...r, survived: true });
    },
    close: () => Promise.resolve(),
  };
}

// --- tables ---------------------------------------------------------------------

const ratio = (x: number, base: number) => Number.isFinite(x / base) ? `${fmt(x / base, 3)}×` : "—";
const mb = (bytes: number) => fmt(bytes / 2 ** 20, 2);

async function helloTable(cols: Column[]): Promise<Map<string, Latency>> {
  const out = new Map<string, Latency>();
  for (const c of cols) out.set(c.name, await c.hello());
  const base = out.get(cols[0].name)!;
  table(
    `Run to completion "hello", ms (${helloRuns} sequential runs after ${helloWarmup} warm-up; create → run → dispose)`,
    [
      "peer",
      "p50",
      "p99",
      "p50 ÷ agentos local",
      "CPU ms per run",
      "CPU ÷ agentos local",
      "cell's own usage.cpuMs p50",
      "failed",
    ],
    [...out].map(([name, r]) => [
      name,
      fmt(median(r.lat)),
      fmt(percentile(r.lat, 0.99)),
      ratio(median(r.lat), median(base.lat)),
      fmt(r.cpuMs),
      ratio(r.cpuMs, base.cpuMs),
      r.agentCpuMs === undefined || Number.isNaN(r.agentCpuMs) ? "—" : fmt(r.agentCpuMs),
      String(r.failed),
    ]),
  );
  return out;
}

async function sustainTable(cols: Column[]): Promise<Map<string, Sustain>> {
  const out = new Map<string, Sustain>();
  const rows: string[][] = [];
  for (const clients of sustainClients) {
    let base: Sustain | undefined;
    for (const c of cols) {
      const r = await c.sustain(clients);
      out.set(`${c.name}/${clients}`, r);
      base ??= r;
      const perSec = r.lat.length / (r.elapsedMs / 1000);
      rows.push([
        c.name,
        String(clients),
        fmt(perSec, 1),
        ratio(perSec, base.lat.length / (base.elapsedMs / 1000)),
        fmt(median(r.lat)),
        fmt(percentile(r.lat, 0.99)),
        fmt(r.cpuMs),
        String(r.failed),
      ]);
    }
  }
  table(
    `Sustained run-to-completion "hello" (${sustainMs / 1000} s per row; clients loop create → run → dispose)`,
    ["peer", "clients", "runs/s", "÷ agentos local", "latency p50 ms", "latency p99 ms", "CPU ms per run", "failed"],
    rows,
  );
  return out;
}

async function hostCallTable(cols: Column[]): Promise<void> {
  const rows: { name: string; lat: number[]; mean: number }[] = [];
  for (const c of cols) {
    const r = await c.hostCall();
    rows.push({ name: c.name, lat: r.lat.map((ms) => ms * 1000), mean: r.totalMs * 1000 / r.lat.length });
  }
  const what = [
    "agentos: `await sys.time.now()` (performance.now() in the Worker)",
    "isolated-vm: `await ref.apply()` of a host `Reference` (clock: a sync host `Callback`)",
    "QuickJS: a sync host function (clock: a host function)",
  ].join("; ");
  table(
    `Host-call round trip timed inside the sandbox, µs (${hostCalls} sequential calls after ${hostWarmup}; ${what})`,
    ["peer", "p50", "p99", "p50 ÷ agentos local", "loop mean (incl. the clock reads)"],
    rows.map((
      r,
    ) => [
      r.name,
      fmt(median(r.lat), 1),
      fmt(percentile(r.lat, 0.99), 1),
      ratio(median(r.lat), median(rows[0].lat)),
      fmt(r.mean, 1),
    ]),
  );
}

async function memoryTable(cols: Column[]): Promise<void> {
  const rows: string[][] = [];
  let base: { rss: number; pss: number } | undefined;
  for (const c of cols) {
    const m = await c.memory();
    base ??= m;
    rows.push([
      c.name,
      mb(m.rss / liveSandboxes),
      ratio(m.rss, base.rss),
      Number.isNaN(m.pss) ? "—" : mb(m.pss / liveSandboxes),
      ratio(m.pss, base.pss),
      m.processes,
    ]);
  }
  table(
    `Memory per live sandbox, MiB (${liveSandboxes} live sandboxes that ran "hello" (agentos: made a syscall and sleep); growth of every process involved, cells included, / ${liveSandboxes})`,
    ["peer", "RSS per sandbox", "÷ agentos local", "PSS per sandbox", "÷ agentos local", "processes measured"],
    rows,
  );
}

async function containTable(cols: Column[]): Promise<void> {
  const rows: string[][] = [];
  for (const kind of ["heap", "busy"] as const) {
    for (const c of cols) {
      const runs: Contained[] = [];
      for (let i = 0; i < containRuns; i++) runs.push(await c.contain(kind));
      rows.push([
        kind === "heap" ? `heap bomb (cap ${memoryMb} MB)` : `busy loop (budget ${budgetMs} ms)`,
        c.name,
        runs.every((r) => r.survived) ? "yes" : "**no**",
        fmt(median(runs.map((r) => r.stopMs)), 0),
        runs[0].message.replaceAll("|", "\\|").replaceAll("\n", " "),
      ]);
    }
  }
  table(
    `Containment (${containRuns} run(s) each): does the host survive, and how long from start until the sandbox is stopped`,
    ["attack", "peer", "host survived and serves the next run", "stopped after, ms (median)", "how it ended"],
    rows,
  );
}

function targetsTable(hello: Map<string, Latency>, sustain: Map<string, Sustain>, cols: Column[]): void {
  const perSec = (r: Sustain | undefined) => r ? r.lat.length / (r.elapsedMs / 1000) : NaN;
  const best = (name: string) => Math.max(...sustainClients.map((c) => perSec(sustain.get(`${name}/${c}`))));
  const ivm = cols.find((c) => c.name.startsWith("isolated-vm"));
  const rows: string[][] = [];
  for (const c of cols.filter((c) => c.name.startsWith("agentos"))) {
    const runs = best(c.name);
    const ivmRuns = ivm ? best(ivm.name) : NaN;
    const cpu = hello.get(c.name)!.cpuMs;
    rows.push([`${c.name}: sustained ≥ 150 runs/s (best of 1/4/16 clients)`, fmt(runs, 1), runs >= 150 ? "yes" : "no"]);
    rows.push([
      `${c.name}: ≥ 0.5× isolated-vm's runs/s (best of each)`,
      ivm ? `${fmt(runs / ivmRuns, 3)}× (${fmt(ivmRuns, 0)} runs/s)` : "isolated-vm skipped",
      ivm ? (runs / ivmRuns >= 0.5 ? "yes" : "no") : "—",
    ]);
    rows.push([`${c.name}: CPU per run ≤ 14 ms (sequential)`, fmt(cpu), cpu <= 14 ? "yes" : "no"]);
  }
  table("Targets of the issue", ["target", "measured", "met"], rows);
}

// --- main -----------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`# Peers: agentos, isolated-vm, QuickJS${quick ? " (--quick)" : ""}\n`);
  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, load average ${await loadAverage()}.`,
  );
  const ivm = await startIvm({ memoryLimitMb: memoryMb });
  if (ivm.ok) {
    const installed = ivm.installMs === undefined
      ? "already installed"
      : `installed in ${fmt(ivm.installMs / 1000, 1)} s`;
    console.log(`isolated-vm ${ivmVersion}: ${installed} (Node ${ivm.peer.version}).`);
  } else {
    console.log(`**isolated-vm column skipped: ${ivm.why}**`);
  }
  const http = await httpSurface(poolSize);
  const others = () => [http.pid, ...(ivm.ok ? [ivm.peer.pid] : [])];
  const cols: Column[] = [agentosColumn(await localSurface(poolSize, others)), agentosColumn(http)];
  if (ivm.ok) cols.push(ivmColumn(ivm.peer));
  // QuickJS runs in this process: its CPU is this process's, without any child (cells, server, Node).
  cols.push(await qjsColumn(() => childPids(Deno.pid)));
  console.log(`Warm pool ${poolSize} on both agentos surfaces; agentos HTTP is a server process on 127.0.0.1.`);
  try {
    const hello = await helloTable(cols);
    const sustain = await sustainTable(cols);
    await hostCallTable(cols);
    await memoryTable(cols);
    await containTable(cols);
    targetsTable(hello, sustain, cols);
  } finally {
    for (const c of cols) await c.close();
  }
  console.log(`\nLoad average at the end: ${await loadAverage()}.`);
}

if (import.meta.main) await main();
