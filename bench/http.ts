/**
 * HTTP API benchmark: a real server started in-process (`startServer`, warm
 * pool of 4, throw-away data dir), driven over 127.0.0.1.
 *
 * - run-to-completion latency of a "hello" agent (`POST /v1/agents` with
 *   `wait: true`), sequential, split into where the time goes (result frame
 *   in, cell reaped, response read by the client);
 * - plain HTTP round trips through the edge (connection gate, rate check):
 *   `GET /healthz` and an authenticated `GET /v1/agents?limit=1`, sequential
 *   on one kept-alive connection, a new connection per request, and 16
 *   concurrent clients;
 * - sustained spawns/s at 4 and 8 concurrent clients (`wait: true`);
 * - SSE events/s delivered to one reader of `/v1/events` (in a Worker) while
 *   one agent issues `time.now` syscalls as fast as it can, and the `dropped`
 *   counts the reader is told about.
 *
 * Run: `deno run -A bench/http.ts [--quick] [--only=edge,hello,sustain,sse]`.
 * Prints markdown tables; p50 is the median, rates are medians over repeated
 * runs in this process.
 *
 * @module
 */

import { type RunningServer, startServer } from "../api/server.ts";
import { agentLimitsMax } from "../kernel/limits.ts";
import { fmt, median, percentile, sleep, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
/** The sections to run (`--only=hello,sse`); all of them by default. */
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const selected = (section: string): boolean => only === undefined || only.includes(section);
/** Sequential run-to-completion samples per row. */
const helloSamples = quick ? 50 : 200;
const helloWarmup = 5;
/** How long each sustained-spawn run lasts, ms, and how many runs per concurrency. */
const sustainMs = quick ? 2_000 : 5_000;
const sustainRuns = quick ? 1 : 3;
const sustainConcurrency = [4, 8];
/** How long the SSE agent issues syscalls, ms, and runs per workload. */
const sseAgentMs = quick ? 1_500 : 3_000;
const sseRuns = quick ? 1 : 3;
/** Calls per `sys.batch` frame in the SSE workloads (1 = plain awaited calls). */
const sseBatchSizes = [1000, 100, 1];
/** How long to wait for the reader to see the agent's exit, ms. */
const sseDrainMsMax = 30_000;
/** After the agent ended, a stream silent this long is drained (its exit event was dropped), ms. */
const sseIdleMs = 2_000;
const poolSize = 4;
/** Longest wait for the pool to be full again, ms. */
const poolRefillMsMax = 10_000;
const adminKey = "bench_admin_key_0123456789abcdef";
const quotas = { agentsConcurrentMax: 64, spawnsPerSec: 10_000, syscallsPerSec: 10_000_000 };

/** Sequential round trips per edge row, and how long the concurrent edge row runs, ms. */
const edgeSamples = quick ? 500 : 2000;
const edgeConcurrentMs = quick ? 1_000 : 3_000;
const edgeClients = 16;

const helloCode = `export default () => { console.log("hello"); return "hello"; }`;

// --- statistics and output --------------------------------------------------

/** The 1-minute load average (includes other processes on the machine), or "n/a". */
function loadAverage(): string {
  try {
    return Deno.loadavg()[0].toFixed(2);
  } catch {
    return "n/a";
  }
}

// --- the server ---------------------------------------------------------------

interface Bench {
  server: RunningServer;
  key: string;
  /** Per pid: when the agent went Running (code sent), Exiting (result in) and was reaped (exit event). */
  exits: Map<number, { runningAt?: number; exitingAt?: number; reapedAt?: number }>;
}

async function post(bench: Bench, path: string, body: unknown, key = bench.key): Promise<Response> {
  return await fetch(`${bench.server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function createTenant(bench: Bench, name: string): Promise<string> {
  const res = await post(bench, "/v1/tenants", { name, quotas }, adminKey);
  const body = await res.json();
  if (res.status !== 201) throw new Error(`tenant create: ${res.status} ${JSON.stringify(body)}`);
  return body.apiKey;
}

/** One run to completion; throws unless it answered 200 with the agent's result. */
async function runHello(bench: Bench): Promise<{ pid: number; ms: number }> {
  const t0 = performance.now();
  const res = await post(bench, "/v1/agents", { code: helloCode, wait: true });
  const body = await res.json();
  const ms = performance.now() - t0;
  if (res.status !== 200 || body.result !== "hello") {
    throw new Error(`hello run: ${res.status} ${JSON.stringify(body)}`);
  }
  return { pid: body.pid, ms };
}

async function poolFull(server: RunningServer): Promise<void> {
  const deadline = performance.now() + poolRefillMsMax;
  while (performance.now() < deadline) {
    const stats = server.runtime.pool.stats();
    if (stats.warm >= poolSize && stats.starting === 0) return;
    await sleep(5);
  }
  throw new Error("pool did not refill");
}

// --- the edge ------------------------------------------------------------------

async function edgeSequential(url: string, headers: HeadersInit, samples: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    lat.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`edge: ${res.status}`);
  }
  return lat;
}

async function benchEdge(bench: Bench): Promise<void> {
  const base = bench.server.url;
  const auth = { authorization: `Bearer ${bench.key}` };
  await edgeSequential(`${base}/healthz`, {}, 100);
  const rows: string[][] = [];
  const seqRow = async (label: string, url: string, headers: HeadersInit, samples = edgeSamples) => {
    const lat = await edgeSequential(url, headers, samples);
    rows.push([label, fmt(median(lat), 3), fmt(percentile(lat, 0.99), 3), "—"]);
  };
  await seqRow("`GET /healthz`, one kept-alive connection", `${base}/healthz`, {});
  await seqRow(
    "`GET /v1/agents?limit=1` (key + rate check), one kept-alive connection",
    `${base}/v1/agents?limit=1`,
    auth,
  );
  await seqRow(
    "`GET /healthz`, a new connection per request",
    `${base}/healthz`,
    { connection: "close" },
    edgeSamples / 5,
  );
  let done = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: edgeClients }, async () => {
    while (performance.now() - t0 < edgeConcurrentMs) {
      const res = await fetch(`${base}/v1/agents?limit=1`, { headers: auth });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`edge: ${res.status}`);
      done++;
    }
  }));
  const perSec = done / ((performance.now() - t0) / 1000);
  rows.push([`\`GET /v1/agents?limit=1\`, ${edgeClients} concurrent clients`, "—", "—", fmt(perSec, 0)]);
  table(
    `HTTP round trips through the edge, ms (client in the same process; ${edgeSamples} sequential samples per row, ${
      edgeSamples / 5
    } for new connections)`,
    ["request", "p50", "p99", "requests/s"],
    rows,
  );
}

// --- run to completion --------------------------------------------------------

interface HelloRow {
  label: string;
  total: number[];
  running: number[];
  exiting: number[];
  reaped: number[];
  warmHits: number;
  coldStarts: number;
}

async function helloRow(bench: Bench, label: string, refill: boolean): Promise<HelloRow> {
  const row: HelloRow = { label, total: [], running: [], exiting: [], reaped: [], warmHits: 0, coldStarts: 0 };
  await poolFull(bench.server);
  const before = bench.server.runtime.pool.stats();
  for (let i = 0; i < helloSamples; i++) {
    if (refill) await poolFull(bench.server);
    const t0 = performance.now();
    const { pid, ms } = await runHello(bench);
    row.total.push(ms);
    const exit = bench.exits.get(pid);
    if (exit?.runningAt !== undefined) row.running.push(exit.runningAt - t0);
    if (exit?.exitingAt !== undefined) row.exiting.push(exit.exitingAt - t0);
    if (exit?.reapedAt !== undefined) row.reaped.push(exit.reapedAt - t0);
    bench.exits.delete(pid);
  }
  const after = bench.server.runtime.pool.stats();
  row.warmHits = after.warmHits - before.warmHits;
  row.coldStarts = after.coldStarts - before.coldStarts;
  return row;
}

async function benchHello(bench: Bench): Promise<void> {
  for (let i = 0; i < helloWarmup; i++) await runHello(bench);
  const rows = [
    await helloRow(bench, `pool of ${poolSize} full before each request`, true),
    await helloRow(bench, "back to back (the pool refills while requests run)", false),
  ];
  const out: string[][] = [];
  for (const r of rows) {
    const cells = `${r.warmHits} / ${r.coldStarts}`;
    out.push([
      `${r.label}: request → code sent to the cell (Running)`,
      fmt(median(r.running)),
      fmt(percentile(r.running, 0.99)),
      cells,
    ]);
    out.push([
      `${r.label}: request → result frame in (Exiting)`,
      fmt(median(r.exiting)),
      fmt(percentile(r.exiting, 0.99)),
      cells,
    ]);
    out.push([
      `${r.label}: request → cell reaped (exit event)`,
      fmt(median(r.reaped)),
      fmt(percentile(r.reaped, 0.99)),
      cells,
    ]);
    out.push([
      `${r.label}: request → response read by client`,
      fmt(median(r.total)),
      fmt(percentile(r.total, 0.99)),
      cells,
    ]);
  }
  table(
    `Run to completion over HTTP, ms (${helloSamples} sequential \`POST /v1/agents\` with \`wait: true\` per row; agent: console.log + return "hello")`,
    ["path", "p50", "p99", "warm hits / cold starts"],
    out,
  );
}

// --- sustained spawns -----------------------------------------------------------

interface SustainRun {
  perSec: number;
  latencies: number[];
  failed: number;
  warmHits: number;
  coldStarts: number;
  cpuMsPerSpawn: number;
}

/**
 * CPU time of this process plus its reaped children (the cells), ms, from
 * /proc/self/stat (utime + stime + cutime + cstime); NaN off Linux.
 */
function cpuMsWithChildren(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14-17 of proc(5), counted from 1 with pid and comm first.
    const ticks = fields.slice(11, 15).reduce((a, f) => a + Number(f), 0);
    return ticks * 10; // USER_HZ is 100 on Linux.
  } catch {
    return NaN;
  }
}

async function sustainOnce(bench: Bench, concurrency: number): Promise<SustainRun> {
  await poolFull(bench.server);
  const before = bench.server.runtime.pool.stats();
  const cpu0 = cpuMsWithChildren();
  const latencies: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  const deadline = t0 + sustainMs;
  const client = async () => {
    while (performance.now() < deadline) {
      try {
        latencies.push((await runHello(bench)).ms);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = performance.now() - t0;
  const cpuMs = cpuMsWithChildren() - cpu0;
  bench.exits.clear();
  const after = bench.server.runtime.pool.stats();
  return {
    perSec: latencies.length / (elapsed / 1000),
    latencies,
    failed,
    warmHits: after.warmHits - before.warmHits,
    coldStarts: after.coldStarts - before.coldStarts,
    cpuMsPerSpawn: cpuMs / Math.max(1, latencies.length),
  };
}

async function benchSustain(bench: Bench): Promise<void> {
  const out: string[][] = [];
  // Rounds interleave the concurrencies, so that a change of machine load hits both rows alike.
  const results = sustainConcurrency.map((): SustainRun[] => []);
  for (let i = 0; i < sustainRuns; i++) {
    for (const [c, concurrency] of sustainConcurrency.entries()) results[c].push(await sustainOnce(bench, concurrency));
  }
  for (const [c, concurrency] of sustainConcurrency.entries()) {
    const runs = results[c];
    const all = runs.flatMap((r) => r.latencies);
    const cpuMs = median(runs.map((r) => r.cpuMsPerSpawn));
    out.push([
      `${concurrency} clients`,
      fmt(median(runs.map((r) => r.perSec)), 1),
      runs.map((r) => fmt(r.perSec, 1)).join(", "),
      fmt(median(all)),
      fmt(percentile(all, 0.99)),
      `${runs.reduce((a, r) => a + r.warmHits, 0)} / ${runs.reduce((a, r) => a + r.coldStarts, 0)}`,
      String(runs.reduce((a, r) => a + r.failed, 0)),
      fmt(cpuMs, 0),
      fmt(navigator.hardwareConcurrency * 1000 / cpuMs, 1),
    ]);
  }
  table(
    `Sustained run-to-completion spawns/s (${sustainRuns} × ${
      sustainMs / 1000
    } s per row, \`wait: true\`, hello agent, pool ${poolSize})`,
    [
      "clients",
      "spawns/s (median)",
      "runs",
      "latency p50, ms",
      "latency p99, ms",
      "warm hits / cold starts",
      "failed",
      "CPU ms per spawn (server + reaped cells)",
      "all cores / CPU per spawn, spawns/s",
    ],
    out,
  );
}

// --- SSE ----------------------------------------------------------------------

/** The SSE reader, run in a Worker so that parsing does not share the server's thread. */
const readerSource = `
let agentDone = false;
self.onmessage = async (e) => {
  if (e.data.agentDone) {
    agentDone = true;
    return;
  }
  const { url, key, idleMs } = e.data;
  const res = await fetch(url, { headers: { authorization: "Bearer " + key } });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "", syscalls = 0, dropped = 0, droppedFrames = 0, bytes = 0, first = NaN, last = NaN;
  let ready = false, exit = false, dataAt = performance.now();
  // The exit event itself may be dropped when the queue is full: stop once the agent is done and the stream idle.
  const idle = setInterval(() => {
    if (agentDone && performance.now() - dataAt > idleMs) reader.cancel().catch(() => {});
  }, 50);
  while (!exit) {
    const { value, done } = await reader.read();
    if (done) break;
    dataAt = performance.now();
    bytes += value.length;
    const text = rest + value;
    const end = text.lastIndexOf("\\n\\n");
    if (end < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(end + 2);
    // Frames are "id: N\\nevent: TYPE\\ndata: ...\\n\\n"; count without splitting them.
    for (let at = text.indexOf("event: "); at >= 0 && at < end; at = text.indexOf("event: ", at + 7)) {
      if (text.startsWith("syscall\\n", at + 7)) {
        syscalls++;
      } else if (text.startsWith("dropped\\n", at + 7)) {
        droppedFrames++;
        const data = text.indexOf("data: ", at) + 6;
        dropped += JSON.parse(text.slice(data, text.indexOf("\\n", data))).count;
      } else if (text.startsWith("exit\\n", at + 7)) {
        exit = true;
      } else if (text.startsWith("hello\\n", at + 7) && !ready) {
        ready = true;
        self.postMessage({ ready: true });
      }
    }
    if (syscalls > 0) {
      last = performance.now();
      if (Number.isNaN(first)) first = last;
    }
  }
  clearInterval(idle);
  await reader.cancel().catch(() => {});
  self.postMessage({ syscalls, dropped, droppedFrames, bytes, spanMs: last - first });
};
`;

interface ReaderResult {
  syscalls: number;
  dropped: number;
  droppedFrames: number;
  bytes: number;
  spanMs: number;
}

function sseAgentCode(batch: number): string {
  const step = batch === 1 ? "await sys.time.now(); calls++;" : `await sys.batch(frame); calls += ${batch};`;
  return `export default async () => {
    const frame = Array.from({ length: ${batch} }, () => ({ call: "time.now" }));
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ${sseAgentMs}) { ${step} }
    return { calls, ms: performance.now() - t0 };
  }`;
}

interface SseRun {
  agentCallsPerSec: number;
  publishedPerSec: number;
  deliveredPerSec: number;
  delivered: number;
  calls: number;
  dropped: number;
  droppedFrames: number;
}

/** A reader Worker; `next()` resolves to its next message (ready, then the counts). */
function startReader(): { worker: Worker; next: (ms: number) => Promise<ReaderResult> } {
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(readerSource)}`, { type: "module" });
  const messages: ReaderResult[] = [];
  let wake: (() => void) | undefined;
  worker.onmessage = (e) => {
    messages.push(e.data);
    wake?.();
  };
  const next = async (ms: number) => {
    const deadline = performance.now() + ms;
    while (messages.length === 0) {
      if (performance.now() > deadline) throw new Error("SSE reader timed out");
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return messages.shift()!;
  };
  return { worker, next };
}

/** One SSE agent run, with one reader of `/v1/events` or none. */
async function sseOnce(bench: Bench, key: string, batch: number, withReader: boolean): Promise<SseRun> {
  const reader = withReader ? startReader() : undefined;
  try {
    reader?.worker.postMessage({ url: `${bench.server.url}/v1/events?types=syscall,exit`, key, idleMs: sseIdleMs });
    await reader?.next(10_000);
    const published0 = bench.server.service.feed.published;
    const res = await post(bench, "/v1/agents", {
      code: sseAgentCode(batch),
      wait: true,
      limits: { syscallsPerSec: agentLimitsMax.syscallsPerSec, wallMs: sseAgentMs + 20_000 },
    }, key);
    const body = await res.json();
    const published = bench.server.service.feed.published - published0;
    reader?.worker.postMessage({ agentDone: true });
    if (res.status !== 200 || body.reason !== "exit") {
      throw new Error(`SSE agent: ${res.status} ${JSON.stringify(body)}`);
    }
    const seen = await reader?.next(sseDrainMsMax);
    const { calls, ms } = body.result as { calls: number; ms: number };
    return {
      agentCallsPerSec: calls / (ms / 1000),
      publishedPerSec: published / (ms / 1000),
      deliveredPerSec: seen ? seen.syscalls / (seen.spanMs / 1000) : NaN,
      delivered: seen?.syscalls ?? NaN,
      calls,
      dropped: seen?.dropped ?? NaN,
      droppedFrames: seen?.droppedFrames ?? NaN,
    };
  } finally {
    reader?.worker.terminate();
  }
}

async function benchSse(bench: Bench): Promise<void> {
  const key = await createTenant(bench, "sse");
  const out: string[][] = [];
  const workloads = [
    ...sseBatchSizes.map((batch) => ({ batch, withReader: true })),
    { batch: sseBatchSizes[0], withReader: false },
  ];
  // Rounds interleave the workloads, so that a change of machine load hits every row alike.
  const results = workloads.map((): SseRun[] => []);
  for (let i = 0; i < sseRuns; i++) {
    for (const [w, { batch, withReader }] of workloads.entries()) {
      results[w].push(await sseOnce(bench, key, batch, withReader));
    }
  }
  for (const [w, { batch, withReader }] of workloads.entries()) {
    const runs = results[w];
    const mid = (f: (r: SseRun) => number) => median(runs.map(f));
    const what = batch === 1 ? "`await sys.time.now()` in a loop" : `\`sys.batch\` of ${batch} \`time.now\` in a loop`;
    const perRun = (f: (r: SseRun) => number) => withReader ? runs.map((r) => fmt(f(r), 0)).join(", ") : "—";
    out.push([
      withReader ? what : `${what}, no SSE reader (reference)`,
      fmt(mid((r) => r.agentCallsPerSec), 0),
      fmt(mid((r) => r.publishedPerSec), 0),
      withReader ? fmt(mid((r) => r.deliveredPerSec), 0) : "—",
      withReader ? runs.map((r) => fmt(r.delivered / r.calls * 100, 1) + " %").join(", ") : "—",
      perRun((r) => r.dropped),
      perRun((r) => r.droppedFrames),
    ]);
  }
  const runs = `${sseRuns} run(s) of ${sseAgentMs / 1000} s per row, medians`;
  table(
    `SSE: \`event: syscall\` frames delivered to one reader of \`/v1/events\` (${runs}; agent syscallsPerSec ${
      fmt(agentLimitsMax.syscallsPerSec, 0)
    })`,
    [
      "agent workload",
      "agent calls/s",
      "events published/s",
      "syscall frames delivered/s",
      "delivered / calls (per run)",
      "dropped (per run)",
      "`dropped` frames (per run)",
    ],
    out,
  );
}

// --- main ---------------------------------------------------------------------

async function main(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-http-" });
  try {
    const server = await startServer({
      host: "127.0.0.1",
      port: 0,
      dataDir,
      poolSize,
      adminKey,
      handleSignals: false,
      log: false,
      // The rate check runs on every request; its limit is raised so the concurrent edge row is not refused.
      limits: { requestsPerSecPerKey: 1_000_000, requestBurstPerKey: 1_000_000 },
    });
    const bench: Bench = { server, key: "", exits: new Map() };
    const unsubscribe = server.runtime.subscribe((event) => {
      if (event.type === "lifecycle" && event.to === "Running") {
        bench.exits.set(event.pid, { runningAt: performance.now() });
      } else if (event.type === "lifecycle" && event.to === "Exiting") {
        bench.exits.set(event.pid, { ...bench.exits.get(event.pid), exitingAt: performance.now() });
      } else if (event.type === "exit") {
        bench.exits.set(event.pid, { ...bench.exits.get(event.pid), reapedAt: performance.now() });
      }
    });
    try {
      bench.key = await createTenant(bench, "bench");
      console.log(`# HTTP API benchmark${quick ? " (--quick)" : ""}\n`);
      console.log(
        `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, pool ${poolSize}, load average ${loadAverage()}.`,
      );
      if (selected("edge")) await benchEdge(bench);
      if (selected("hello")) await benchHello(bench);
      if (selected("sustain")) await benchSustain(bench);
      if (selected("sse")) await benchSse(bench);
      console.log(`\nLoad average at the end: ${loadAverage()}.`);
    } finally {
      unsubscribe();
      await server.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) await main();
