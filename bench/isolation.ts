/**
 * Isolation under hostile load: for each attack of the isolation issue that
 * runs inside agents, a bystander agent of another tenant measures its
 * syscall round trips (p99 of `bystanderRoundTrips` calls) alone and while
 * the attack runs, on the same runtime, in the same run. Target: the p99
 * during the attack within 3× of the quiet p99. Median of the repeats.
 *
 *     deno task bench [--quick] isolation
 *
 * @module
 */

import { Runtime } from "../sandbox/runtime.ts";
import { fmt, loadAverage, median, percentile, sleep, table, waitFor } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const repeats = quick ? 1 : 5;
const bystanderRoundTrips = quick ? 300 : 1000;
/** How long each attack keeps going once engaged, ms (outlasts the bystander's pause and its attack phase). */
const attackMs = 5_000;
const ratioTarget = 3;

interface Attack {
  name: string;
  finding: string;
  code: string;
  capabilities?: ("fs.read" | "fs.write" | "ipc" | "proc.spawn")[];
  limits?: Record<string, number>;
  /** Agents running the code at once. */
  agents?: number;
}

/** Guest prologue: `go()` tells the harness the attack is engaged; `until()` bounds it. */
const prologue = `const t0 = performance.now(); let told = false;
const go = () => { if (!told) { told = true; console.log("go"); } };
const until = () => performance.now() - t0 < ${attackMs + 1500};`;

const attacks: Attack[] = [
  {
    name: "batch of 1,000 fs.readBytes of 4 MiB",
    finding: "1",
    capabilities: ["fs.read", "fs.write"],
    code: `${prologue} export default async () => {
      await sys.fs.writeBytes("big", new Uint8Array(4 * 1024 * 1024).fill(7));
      while (until()) { go(); await sys.batch(Array.from({ length: 1000 }, () => ({ call: "fs.readBytes", args: { path: "big" } }))); }
    }`,
  },
  {
    name: "fs.writeBytes of 4 MiB in a loop",
    finding: "1 (legit load)",
    capabilities: ["fs.write"],
    code: `${prologue} export default async () => {
      const data = new Uint8Array(4 * 1024 * 1024).fill(7);
      while (until()) { go(); await sys.fs.writeBytes("big", data); }
    }`,
  },
  {
    name: "8 MiB frames nested 4M deep",
    finding: "3",
    limits: { syscallsPerSec: 1000 },
    code: `${prologue} export default async () => {
      const frame = '{"id":1,"call":"fs.stat","args":{"path":' + "[".repeat(4194240) + "]".repeat(4194240) + "}}";
      while (until()) { go(); postMessage(frame); await new Promise((r) => setTimeout(r, 5)); }
    }`,
  },
  {
    name: "unknown calls at syscallsPerSec 10",
    finding: "6",
    limits: { syscallsPerSec: 10 },
    code: `${prologue} export default async () => {
      while (until()) { go(); await sys.call("no.such", {}).catch(() => {}); }
    }`,
  },
  {
    name: "denied calls without capabilities",
    finding: "7",
    code: `${prologue} export default async () => {
      while (until()) { go(); await sys.fs.readText("x").catch(() => {}); }
    }`,
  },
  {
    name: "output flood (64 KiB writes)",
    finding: "7",
    limits: { outputBytes: 64 * 1024 * 1024 },
    code: `${prologue} export default async () => {
      const chunk = "z".repeat(65535);
      while (until()) { go(); console.log(chunk); await new Promise((r) => setTimeout(r, 0)); }
    }`,
  },
  {
    name: "5 agents fill their tenant's IPC memory",
    finding: "5",
    capabilities: ["ipc"],
    agents: 5,
    code: `${prologue} export default async () => {
      for (;;) { try { await sys.ipc.shm.create(1024 * 1024); } catch { break; } }
      go();
      while (until()) { await sys.ipc.shm.create(1024 * 1024).catch(() => {}); }
    }`,
  },
  {
    name: "child spawns up to the tenant's agent quota",
    finding: "6",
    capabilities: ["proc.spawn"],
    code: `${prologue} export default async () => {
      while (until()) {
        go();
        try { const { pid } = await sys.proc.spawn("export default () => 0"); await sys.proc.wait(pid); }
        catch { await new Promise((r) => setTimeout(r, 10)); }
      }
    }`,
  },
  {
    name: "CPU spin (while (true))",
    finding: "baseline",
    limits: { cpuMs: 60_000 },
    code: `${prologue} export default () => { go(); while (until()) {} }`,
  },
];

/** Round trips made (unmeasured) before each measured phase: a fresh cell's first calls are slower. */
const warmupRoundTrips = 50;
/** How long the bystander waits before its quiet phase (a pool refill starts a cell meanwhile), ms. */
const settleMs = 800;
/** How long the bystander waits between its quiet and its attack phase (the attack starts meanwhile), ms. */
const bystanderPauseMs = 2_500;

/**
 * One bystander agent measures both phases: `n` round trips quiet, prints
 * "q", sleeps while the harness starts the attack, then `n` more. The same
 * cell and the same warm JIT in both phases, so the ratio compares like
 * with like.
 */
function bystanderCode(n: number): string {
  return `export default async () => {
    const phase = async () => {
      for (let i = 0; i < ${warmupRoundTrips}; i++) await sys.time.now();
      const lat = [];
      for (let i = 0; i < ${n}; i++) { const t = performance.now(); await sys.time.now(); lat.push(performance.now() - t); }
      return lat;
    };
    await new Promise((r) => setTimeout(r, ${settleMs})); // the warm pool refills the cell this agent took
    const quiet = await phase();
    console.log("q");
    await new Promise((r) => setTimeout(r, ${bystanderPauseMs}));
    return { quiet, during: await phase() };
  }`;
}

interface Row {
  quiet: number[];
  during: number[];
  rssMb: number[];
}

async function measure(runtime: Runtime, attack: Attack): Promise<{ quiet: number; during: number; rssMb: number }> {
  await sleep(300); // the last attack's cells and the pool refill are done
  const bystander = await runtime.spawn({
    tenant: "bystander",
    code: bystanderCode(bystanderRoundTrips),
    limits: { wallMs: 60_000 },
  });
  await waitFor(() => bystander.stdout.text().includes("q") || bystander.exitStarted, 20_000);
  const rss0 = Deno.memoryUsage().rss;
  let rssPeak = rss0;
  const sampler = setInterval(() => rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss), 10);
  const agents = await Promise.all(Array.from({ length: attack.agents ?? 1 }, () =>
    runtime.spawn({
      tenant: "attacker",
      code: attack.code,
      capabilities: attack.capabilities ?? [],
      limits: { wallMs: attackMs + 20_000, ...attack.limits },
    })));
  try {
    await waitFor(() => agents.every((a) => a.stdout.text().includes("go") || a.exitStarted), 20_000);
    const r = await bystander.done;
    if (r.reason !== "exit") throw new Error(`bystander ended with ${r.reason}: ${r.message}`);
    const { quiet, during } = r.result as { quiet: number[]; during: number[] };
    return { quiet: percentile(quiet, 0.99), during: percentile(during, 0.99), rssMb: (rssPeak - rss0) / 1024 / 1024 };
  } finally {
    for (const a of agents) runtime.kill(a.pid);
    await Promise.all(agents.map((a) => a.done));
    clearInterval(sampler);
  }
}

const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-isolation-" });
const runtime = new Runtime({
  dataDir,
  poolSize: 2,
  tenantQuotas: { attacker: { agentsConcurrentMax: 8 } },
});
await runtime.start();
const rows: string[][] = [];
try {
  console.log(`load average before: ${await loadAverage()}; ${repeats} repeat(s), ${bystanderRoundTrips} round trips`);
  for (const attack of attacks) {
    const row: Row = { quiet: [], during: [], rssMb: [] };
    for (let i = 0; i < repeats; i++) {
      const m = await measure(runtime, attack);
      row.quiet.push(m.quiet);
      row.during.push(m.during);
      row.rssMb.push(m.rssMb);
    }
    const ratio = median(row.during.map((d, i) => d / row.quiet[i]));
    rows.push([
      attack.name,
      attack.finding,
      fmt(median(row.quiet)),
      fmt(median(row.during)),
      `${fmt(ratio)}×`,
      ratio <= ratioTarget ? "yes" : "**no**",
      fmt(Math.max(...row.rssMb), 0),
    ]);
  }
} finally {
  await runtime.close();
  await Deno.remove(dataDir, { recursive: true });
}
table(
  `Bystander p99 round trip under attack (median of ${repeats})`,
  ["attack", "finding", "quiet p99 ms", "attack p99 ms", "ratio", `≤ ${ratioTarget}×`, "supervisor RSS growth MB"],
  rows,
);
console.log(`\nload average after: ${await loadAverage()}`);
