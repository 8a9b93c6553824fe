/**
 * What importing packages of the store costs a run: sequential
 * run-to-completion agents of one tenant (warm and recycled cells, as a
 * server runs them) that import 0, 1 (lodash) and 5 packages, p50/p95 wall
 * and the added cost over 0 packages; and the supervisor's side alone
 * (`mod.load` of a package: the store's SHA-256 check and the lexer pass
 * the first time, the cached module after).
 *
 *     deno run -A bench/packages.ts [--quick]
 *
 * The store is built once per machine from the registry (through `deno`
 * subprocesses) under the system temp dir and reused.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { Runtime } from "../sandbox/mod.ts";
import { PackageStore } from "../sandbox/packages/mod.ts";
import { fmt, loadAverage, median, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const runs = quick ? 20 : 60;
const warmup = 5;
const specs = ["lodash@4.17.21", "zod@3.23.8", "date-fns@3.6.0", "uuid@9.0.1", "papaparse@5.4.1"];

async function benchStore(): Promise<PackageStore> {
  const dir = `${tmpdir()}/agentos-bench-packages-v1`;
  const store = new PackageStore(dir);
  const have = new Set((await store.list()).map((p) => `${p.name}@${p.version}`));
  for (const spec of specs) if (!have.has(spec)) await store.add(spec);
  const bad = (await store.verify()).filter((r) => !r.ok);
  if (bad.length > 0) throw new Error(`bench store ${dir} does not verify: ${JSON.stringify(bad)}`);
  return store;
}

const programs: Record<string, string> = {
  "0 packages": `export default () => [1, 2, 3].reduce((a, b) => a + b, 0);`,
  "1 package (lodash)": `import _ from "lodash";\nexport default () => _.sum([1, 2, 3]);`,
  "5 packages": `import _ from "lodash";
import { z } from "zod";
import { format } from "date-fns";
import { v4 } from "uuid";
import Papa from "papaparse";
export default () => [_.sum([1, 2]), z.number().parse(3), format(new Date(0), "yyyy").length, v4().length,
  Papa.parse("a,b").data.length];`,
};

async function runMs(runtime: Runtime, code: string): Promise<number> {
  const t0 = performance.now();
  const r = await runtime.run({ code, tenant: "bench" });
  const ms = performance.now() - t0;
  if (r.reason !== "exit") throw new Error(`bench agent ended ${r.reason}: ${r.message}`);
  return ms;
}

const store = await benchStore();
const load = await loadAverage();
const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-packages-" });
const runtime = new Runtime({ dataDir, poolSize: 2, packages: store });
await runtime.start();
try {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(programs)) samples[name] = [];
  for (let i = 0; i < warmup; i++) for (const code of Object.values(programs)) await runMs(runtime, code);
  // Interleaved, so load drifts hit every row alike.
  for (let i = 0; i < runs; i++) {
    for (const [name, code] of Object.entries(programs)) samples[name].push(await runMs(runtime, code));
  }
  const base = median(samples["0 packages"]);
  table(
    `Run to completion importing packages of the store, ms (${runs} interleaved runs per row after ${warmup} ` +
      `warm-up; one tenant, warm pool 2, cells recycled; load before: ${load})`,
    ["agent", "p50", "p95", "added over 0 packages (p50)"],
    Object.entries(samples).map(([name, xs]) => [
      name,
      fmt(median(xs), 1),
      fmt(percentile(xs, 95), 1),
      name === "0 packages" ? "—" : fmt(median(xs) - base, 1),
    ]),
  );
  const sizes = (await store.list()).filter((p) => specs.includes(`${p.name}@${p.version}`));
  table(
    "The bundles",
    ["package", "bundle KB", "exports"],
    sizes.map((p) => [`${p.name}@${p.version}`, fmt(p.bytes / 1024, 0), String(p.exports.length)]),
  );
} finally {
  await runtime.close();
  await Deno.remove(dataDir, { recursive: true });
}
