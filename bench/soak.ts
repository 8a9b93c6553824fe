/**
 * Soak: thousands of agents through a real server process (the supervisor
 * as `deno task start` runs it, on a throw-away data dir), run to
 * completion over HTTP by a few clients. Every `--every` agents, once the
 * server is idle again (nothing admitted, no agent, the warm pool full),
 * the supervisor's RSS and open descriptors are read from /proc; a
 * least-squares slope over those samples is printed as MiB and descriptors
 * per 1,000 agents. Target: both flat (descriptors ≈ 0 per 1,000; RSS within
 * allocator noise).
 *
 *     deno task bench [--quick] soak
 *     deno run -A bench/soak.ts [--quick] [--agents N] [--every M] [--clients C] [--heap]
 *
 * Defaults: 5,000 agents sampled every 500 (`--quick`: 600 every 100), 4
 * clients. `--heap` starts the supervisor with `--inspect` on 127.0.0.1,
 * forces a full GC before each sample (so the RSS and heap columns show
 * what is retained, not what the collector has not got to yet), adds the
 * V8 heap and external bytes, and prints what grew most between the first
 * and the last sample's heap snapshots.
 *
 * @module
 */

import { fdCount, metric, rssBytes, ServerProcess, until } from "../tests/reliability/helpers.ts";
import { fmt, loadAverage, table } from "./_stats.ts";
import { freePort, growth, type HeapSnapshot, Inspector, largest } from "./_inspector.ts";

const args = Deno.args;
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const quick = args.includes("--quick");
const heap = args.includes("--heap");
const agents = option("--agents", quick ? 600 : 5_000);
const every = option("--every", quick ? 100 : 500);
const clients = option("--clients", 4);
const poolSize = 2;

/** What each agent does: a file written and read back, a line printed, a result returned. */
const code = `export default async () => {
  await sys.fs.writeText("note.txt", "soak ".repeat(64));
  console.log((await sys.fs.readText("note.txt")).length);
  return { ok: true, at: await sys.time.now() };
}`;

/** Agents that did not end with reason `exit`, by reason and message. */
const failures = new Map<string, number>();

interface Sample {
  agents: number;
  seconds: number;
  rssMiB: number;
  fds: number;
  heapMiB?: number;
  externalMiB?: number;
}

/** Least-squares slope of `y` over `x`. */
function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** Wait until the server is idle: nothing admitted, no agent in the table, the warm pool refilled. */
async function idle(s: ServerProcess): Promise<void> {
  await until(
    "the server to be idle",
    async () => {
      const admission = (await s.json("/v1/scheduler")).body.admission as { admitted: number };
      const text = await (await s.req("/metrics")).text();
      // A failed refill is not retried until the next spawn: then the pool stays short (3 descriptors a cell).
      const poolSettled = metric(text, "agentos_cell_pool_cells") === poolSize ||
        metric(text, "agentos_cell_starts_total", { kind: "failed" }) > 0;
      return admission.admitted === 0 && metric(text, "agentos_agents") === 0 && poolSettled;
    },
    60_000,
    20,
  );
}

async function sample(s: ServerProcess, done: number, t0: number, inspector: Inspector | null): Promise<Sample> {
  await idle(s);
  const out: Sample = { agents: done, seconds: (performance.now() - t0) / 1000, rssMiB: 0, fds: 0 };
  if (inspector) {
    await inspector.gc();
    const m = await inspector.memory();
    out.heapMiB = m.heapUsed / 2 ** 20;
    out.externalMiB = m.external / 2 ** 20;
  }
  out.rssMiB = (await rssBytes(s.pid)) / 2 ** 20;
  out.fds = await fdCount(s.pid);
  return out;
}

/** Run `count` agents over `clients` clients, calling `at(n)` (awaited, clients paused) every `every` agents. */
async function load(s: ServerProcess, key: string, at: (n: number) => Promise<void>): Promise<void> {
  let started = 0, finished = 0;
  let gate: Promise<void> = Promise.resolve();
  const one = async () => {
    while (started < agents) {
      await gate;
      if (started >= agents) return;
      started++;
      const r = await s.json("/v1/agents", {
        method: "POST",
        key,
        json: { code, wait: true, capabilities: ["fs.read", "fs.write"] },
      });
      if (r.status !== 200) throw new Error(`spawn failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      if (r.body.reason !== "exit") {
        // Counted and reported, not fatal: on an overloaded machine a cell can miss its start deadline.
        const why = `${r.body.reason}: ${String(r.body.message).slice(0, 80)}`;
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
      finished++;
      if (finished % every === 0 || finished === agents) {
        // Hold new spawns back while the sample is taken (clients in flight finish first).
        const n = finished;
        gate = gate.then(async () => {
          await until("clients in flight to finish", () => finished >= started, 60_000, 5);
          await at(n);
        });
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, one));
  await gate;
}

async function main(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-soak-" });
  const port = heap ? freePort() : 0;
  const s = await ServerProcess.start({
    dataDir,
    poolSize,
    denoFlags: heap ? [`--inspect=127.0.0.1:${port}`] : [],
  });
  const inspector = heap ? await Inspector.connect(port) : null;
  try {
    const t = await s.tenant("soak", { spawnsPerSec: 10_000, agentsConcurrentMax: 64 });
    const t0 = performance.now();
    const samples: Sample[] = [];
    const snaps: { agents: number; snap: HeapSnapshot }[] = [];
    await load(s, t.apiKey, async (n) => {
      samples.push(await sample(s, n, t0, inspector));
      const last = samples.at(-1)!;
      console.error(`soak: ${n} agents, ${fmt(last.rssMiB, 1)} MiB RSS, ${last.fds} fds, ${fmt(last.seconds, 0)} s`);
      // Past the warm-up (the second sample) and at the end: what the heap retains between the two.
      if (inspector && (samples.length === 2 || n === agents)) {
        snaps.push({ agents: n, snap: await inspector.snapshot() });
      }
    });
    report(samples, await loadAverage());
    if (failures.size > 0) {
      table(
        "Agents that did not exit normally",
        ["reason: message", "agents"],
        [...failures].map(([k, n]) => [k, String(n)]),
      );
    }
    if (snaps.length === 2) heapReport(snaps[0], snaps[1]);
  } finally {
    inspector?.close();
    await s.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

const cell = (text: string) => text.replaceAll("|", "\\|");

/** What grew between two heap snapshots: by group, and the new objects by what holds them. */
function heapReport(a: { agents: number; snap: HeapSnapshot }, b: { agents: number; snap: HeapSnapshot }): void {
  const span = `from ${a.agents} to ${b.agents} agents`;
  table(
    `Heap growth ${span} (top 15 groups by bytes)`,
    ["type: constructor", "objects", "bytes"],
    growth(a.snap.summary(), b.snap.summary()).map((g) => [cell(g.key), String(g.count), fmt(g.bytes, 0)]),
  );
  table(
    `Objects new ${span} still alive at the end, by first strong retainer (top 15)`,
    ["object ← holder.edge", "objects", "bytes"],
    largest(b.snap.newByHolder(a.snap.ids())).map((g) => [cell(g.key), String(g.count), fmt(g.bytes, 0)]),
  );
}

function report(samples: Sample[], load: string): void {
  const withHeap = samples[0].heapMiB !== undefined;
  table(
    `Soak: ${agents} agents, ${clients} clients, pool ${poolSize}` +
      (withHeap ? ", full GC before each sample (RSS includes the heap snapshots' own memory)" : ""),
    ["agents", "seconds", "RSS MiB", "fds", ...(withHeap ? ["V8 heap MiB", "external MiB"] : [])],
    samples.map((s) => [
      String(s.agents),
      fmt(s.seconds, 0),
      fmt(s.rssMiB, 1),
      String(s.fds),
      ...(withHeap ? [fmt(s.heapMiB!, 2), fmt(s.externalMiB!, 2)] : []),
    ]),
  );
  const x = samples.map((s) => s.agents / 1000);
  const rows = [
    ["RSS", fmt(slope(x, samples.map((s) => s.rssMiB)), 2) + " MiB"],
    ["open descriptors", fmt(slope(x, samples.map((s) => s.fds)), 1)],
  ];
  if (withHeap) {
    rows.push(["V8 heap used", fmt(slope(x, samples.map((s) => s.heapMiB!)), 2) + " MiB"]);
    rows.push(["external", fmt(slope(x, samples.map((s) => s.externalMiB!)), 2) + " MiB"]);
  }
  table(`Least-squares slope per 1,000 agents (load average ${load})`, ["series", "per 1,000 agents"], rows);
}

if (import.meta.main) await main();
