/**
 * Sessions: the round trip of one cell, in three layers measured in one
 * run — the REPL transform alone, the kernel (`runtime.sessions.exec`: the
 * cell's script to the Worker and its answer back as `session.result`),
 * and HTTP (`POST /v1/sessions/:id/exec` on a real server on 127.0.0.1,
 * JSON and NDJSON). Target: a trivial cell ≤ 5 ms p50 over HTTP.
 *
 *     deno run -A bench/sessions.ts [--quick]
 *
 * @module
 */

import { startServer } from "../api/server.ts";
import { replCell, Runtime } from "../sandbox/mod.ts";
import { fmt, loadAverage, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const n = quick ? 200 : 1000;
const cells: [string, string][] = [
  ["trivial (`1 + 1`)", "1 + 1"],
  ["uses the last cell (`total += 1`)", "total += 1"],
  ["prints 10 lines", `for (let i = 0; i < 10; i++) console.log("line", i);\ntotal`],
];

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const row = (
  what: string,
  xs: number[],
) => [what, String(xs.length), fmt(percentile(xs, 0.5), 3), fmt(percentile(xs, 0.99), 3)];

async function kernelRows(dataDir: string): Promise<string[][]> {
  const runtime = new Runtime({ dataDir, poolSize: 1 });
  await runtime.start();
  const agent = await runtime.spawn({ code: "", session: true, limits: { wallMs: 3600_000, cpuMs: 3600_000 } });
  let k = 0;
  const exec = (code: string) => {
    const name = `cell${++k}.js`;
    const { script } = replCell(code, { lang: "js", cellName: name });
    return runtime.sessions.exec(agent.pid, { script, name, timeoutMs: 30_000, cpuMs: 30_000 });
  };
  await exec("var total = 0");
  const rows: string[][] = [];
  for (const [what, code] of cells) rows.push(row(`kernel: ${what}`, await timed(() => exec(code))));
  const transform = await timed(() => Promise.resolve(replCell("1 + 1", { lang: "js", cellName: "cell1.js" })));
  rows.unshift(row("transform only: trivial", transform));
  await runtime.close();
  return rows;
}

async function httpRows(dataDir: string): Promise<string[][]> {
  const adminKey = "bench_admin_key_0123456789";
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    adminKey,
    log: false,
    handleSignals: false,
    poolSize: 1,
  });
  try {
    const api = async (method: string, path: string, key: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return await res.text();
    };
    const tenant = JSON.parse(await api("POST", "/v1/tenants", adminKey, { name: "bench" }));
    const se = JSON.parse(await api("POST", "/v1/sessions", tenant.apiKey, {}));
    await api("POST", `/v1/sessions/${se.id}/exec`, tenant.apiKey, { code: "var total = 0" });
    const rows: string[][] = [];
    for (const [what, code] of cells) {
      rows.push(
        row(`http: ${what}`, await timed(() => api("POST", `/v1/sessions/${se.id}/exec`, tenant.apiKey, { code }))),
      );
    }
    const streamed = await timed(() =>
      api("POST", `/v1/sessions/${se.id}/exec?stream=true`, tenant.apiKey, { code: "1 + 1" })
    );
    rows.push(row("http NDJSON: trivial", streamed));
    return rows;
  } finally {
    await server.close();
  }
}

const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-sessions-" });
try {
  const rows = [...await kernelRows(`${dataDir}/k`), ...await httpRows(`${dataDir}/h`)];
  table(`session exec round trip, ms (load ${await loadAverage()})`, ["cell", "n", "p50", "p99"], rows);
} finally {
  await Deno.remove(dataDir, { recursive: true });
}
