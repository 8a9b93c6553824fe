/**
 * Run-to-completion through the local runtime with cells recycled or not
 * and started from the JavaScript bundle or the TypeScript source, in one
 * run: per configuration, sequential runs of a "hello" agent of one tenant
 * (p50/p99 wall), sustained runs/s with 4 clients, and CPU per run (the
 * bench process and every cell it started, cells reaped at the end counted
 * through /proc/self/stat's cutime/cstime).
 *
 *     deno run -A bench/cells.ts [--quick]
 *
 * @module
 */

import { Runtime } from "../sandbox/mod.ts";
import { fmt, loadAverage, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const sequential = quick ? 30 : 100;
const sustainedMs = quick ? 3000 : 8000;
const hello = `export default () => { console.log("hello"); return 1; }`;

/** CPU of this process and its reaped children, ms. */
async function treeCpuMs(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return ticks * 10;
}

async function measure(name: string, options: { cellReuse: boolean; leanCell: boolean }): Promise<string[]> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-cells-" });
  const runtime = new Runtime({ dataDir, poolSize: 2, ...options });
  await runtime.start();
  const cpu0 = await treeCpuMs();
  let runs = 0;
  const run = async () => {
    const r = await runtime.run({ code: hello, tenant: "bench" });
    if (r.reason !== "exit") throw new Error(`${name}: ${r.reason} ${r.message}`);
    runs++;
  };
  const walls: number[] = [];
  for (let i = 0; i < sequential; i++) {
    const t0 = performance.now();
    await run();
    walls.push(performance.now() - t0);
  }
  const started = performance.now();
  let sustained = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (performance.now() - started < sustainedMs) {
      await run();
      sustained++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const stats = runtime.pool.stats();
  await runtime.close();
  const cpu = (await treeCpuMs()) - cpu0;
  await Deno.remove(dataDir, { recursive: true });
  return [
    name,
    fmt(percentile(walls, 0.5), 1),
    fmt(percentile(walls, 0.99), 1),
    fmt(sustained / seconds, 1),
    fmt(cpu / runs, 1),
    String(stats.recycledHits),
    String(stats.coldStarts + stats.warmHits),
  ];
}

const rows: string[][] = [];
for (
  const [name, options] of [
    ["fresh cell, TypeScript entry (before)", { cellReuse: false, leanCell: false }],
    ["fresh cell, JavaScript bundle", { cellReuse: false, leanCell: true }],
    ["recycled cells, JavaScript bundle (default)", { cellReuse: true, leanCell: true }],
  ] as const
) rows.push(await measure(name, options));
table(
  `run to completion, local runtime, one tenant (load ${await loadAverage()}; ${sequential} sequential, then 4 clients for ${
    sustainedMs / 1000
  } s)`,
  ["cells", "seq p50 ms", "seq p99 ms", "runs/s (4 clients)", "CPU ms per run", "recycled hits", "fresh cells"],
  rows,
);
