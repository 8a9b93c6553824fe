/**
 * What storing agents' traces costs (api/traces.ts):
 *
 * 1. The writer alone: events put into a real hub, read from its ring,
 *    materialised as SSE JSON and written to a real SQLite file in one
 *    transaction per batch (what the server does every 100 ms), against one
 *    autocommit per event. µs per event stored and events/s.
 * 2. End to end: a 1,000-syscall agent run to completion through a real
 *    server (real cells, HTTP on 127.0.0.1) with traces on against a server
 *    with traces off (`AGENTOS_TRACE_EVENTS_MAX=0`, the old path), in one
 *    run, alternating: the answer's wall time and the supervisor's CPU per
 *    agent. The agent's calls fail (`ENOENT`), so the sampler keeps all of
 *    them: the worst case, 1,000 events stored per agent.
 *
 * Run: `deno run -A bench/trace.ts [--quick]`. Prints markdown tables.
 *
 * @module
 */

import { EventFeed } from "../api/events.ts";
import { type RunningServer, startServer } from "../api/server.ts";
import { Store } from "../api/store.ts";
import { StoreErrors } from "../api/store_errors.ts";
import { Traces } from "../api/traces.ts";
import { ObservabilityHub } from "../observability/mod.ts";
import { fmt, loadAverage, median, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const adminKey = "admin_bench_key_0123456789";

/** The writer alone: `events` syscall events of one agent, written as the server writes them. */
function writerCost(dir: string, events: number, batch: number): { usPerEvent: number; perSec: number } {
  const store = new Store(`${dir}/writer-${batch}.db`);
  const hub = new ObservabilityHub({ enabled: true });
  hub.knownCalls(["fs.readText"]);
  const ids = (uid: number) => uid === 7 ? "ag_bench" : undefined;
  const feed = new EventFeed(hub, ids);
  const traces = new Traces(store, feed, hub, ids, new StoreErrors(), { eventsPerAgentMax: events * 2 });
  store.insertAgent({
    id: "ag_bench",
    tenantId: "tn",
    pid: 3,
    state: "Running",
    reason: null,
    exitCode: null,
    message: null,
    result: null,
    usage: null,
    stdout: "",
    stderr: "",
    capabilities: [],
    limits: {},
    labels: {},
    createdAt: new Date().toISOString(),
    endedAt: null,
  });
  traces.recorded("ag_bench");
  const s = { pid: 3, uid: 7, tenant: "tn", causality: 3 };
  const t0 = performance.now();
  for (let i = 0; i < events; i += batch) {
    for (let j = 0; j < batch; j++) hub.syscall(s, "fs.readText", "ENOENT", 12.5, 0, { path: `notes/${i + j}.txt` });
    traces.flush();
  }
  const ms = performance.now() - t0;
  if (store.traces.count("ag_bench") !== events) throw new Error(`stored ${store.traces.count("ag_bench")}`);
  hub.close();
  store.close();
  return { usPerEvent: (ms * 1000) / events, perSec: events / (ms / 1000) };
}

/** One autocommit per event (what "write each event as it comes" would cost). */
function autocommitCost(dir: string, events: number): { usPerEvent: number; perSec: number } {
  const store = new Store(`${dir}/autocommit.db`);
  const json = JSON.stringify({
    seq: 1,
    ts: Date.now(),
    type: "syscall",
    tenant: "tn_0123456789abcdef01234567",
    agentId: "ag_0123456789abcdef01234567",
    pid: 3,
    causality: 3,
    data: { call: "fs.readText", errno: "ENOENT", latencyUs: 12.5, bytes: 0, args: { path: "notes/1.txt" } },
  });
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    store.traces.insert("ag_bench", [{ seq: i + 1, at: Date.now(), kind: "syscall", error: true, json }]);
  }
  const ms = performance.now() - t0;
  store.close();
  return { usPerEvent: (ms * 1000) / events, perSec: events / (ms / 1000) };
}

const agentCode = `export default async () => {
  for (let i = 0; i < 1000; i++) { try { await sys.fs.readText("missing.txt"); } catch {} }
  return 1;
}`;

/** One 1,000-syscall agent run to completion: the answer's wall time and the supervisor's CPU, ms. */
async function runAgent(server: RunningServer, key: string): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await fetch(`${server.url}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ code: agentCode, wait: true, capabilities: ["fs.read"] }),
  });
  const body = await res.json();
  if (res.status !== 200 || body.reason !== "exit") throw new Error(`agent: ${res.status} ${JSON.stringify(body)}`);
  const wallMs = performance.now() - t0;
  // The writer's timer flush of the agent's last events belongs to its cost: take it now, inside the measure.
  server.service.traces.flush();
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function endToEnd(dir: string, runs: number): Promise<string[][]> {
  const start = (name: string, traceEventsPerAgentMax: number) =>
    startServer({
      host: "127.0.0.1",
      port: 0,
      dataDir: `${dir}/${name}`,
      poolSize: 2,
      adminKey,
      handleSignals: false,
      log: false,
      retention: { traceEventsPerAgentMax },
    });
  const on = await start("on", 10_000);
  const off = await start("off", 0);
  try {
    const servers = [{ name: "traces on", s: on }, { name: "traces off (old path)", s: off }];
    const samples = new Map(servers.map((x) => [x.name, { wall: [] as number[], cpu: [] as number[] }]));
    const keys = new Map<string, string>();
    for (const { name, s } of servers) {
      const r = await fetch(`${s.url}/v1/tenants`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bench" }),
      });
      keys.set(name, (await r.json()).apiKey);
      await runAgent(s, keys.get(name)!); // warm-up
    }
    for (let i = 0; i < runs; i++) {
      for (const { name, s } of i % 2 === 0 ? servers : [...servers].reverse()) {
        const m = await runAgent(s, keys.get(name)!);
        samples.get(name)!.wall.push(m.wallMs);
        samples.get(name)!.cpu.push(m.cpuMs);
      }
    }
    const stored = on.service.traces.stats.stored;
    console.log(`\ntraces on: ${stored} events stored, ${on.service.traces.stats.flushes} batches`);
    return servers.map(({ name }) => {
      const x = samples.get(name)!;
      return [name, fmt(median(x.wall)), fmt(percentile(x.wall, 0.9)), fmt(median(x.cpu)), fmt(percentile(x.cpu, 0.9))];
    });
  } finally {
    await on.close();
    await off.close();
  }
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-bench-trace-" });
  try {
    console.log(`load average: ${await loadAverage()}`);
    const events = quick ? 10_000 : 50_000;
    const rows: string[][] = [];
    for (const batch of [100, 1000, 10_000]) {
      const r = writerCost(dir, events, batch);
      rows.push([`hub → ring → JSON → SQLite, ${batch} events per transaction`, fmt(r.usPerEvent), fmt(r.perSec, 0)]);
    }
    const auto = autocommitCost(dir, quick ? 2000 : 10_000);
    rows.push(["SQLite only, one autocommit per event", fmt(auto.usPerEvent), fmt(auto.perSec, 0)]);
    table(`Trace writer, ${events} events of one agent (WAL, synchronous=NORMAL)`, [
      "path",
      "µs per event",
      "events/s",
    ], rows);
    const runs = quick ? 6 : 20;
    table(`A 1,000-syscall agent (all kept), run to completion, ${runs} runs each, alternating`, [
      "server",
      "wall p50 ms",
      "wall p90 ms",
      "supervisor CPU p50 ms",
      "CPU p90 ms",
    ], await endToEnd(dir, runs));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
