/**
 * Time to interactive, the way public sandbox benchmarks measure it: create
 * a sandbox and get its first result over HTTP — here one
 * `POST /v1/agents` with `wait: true` and a trivial program, against a real
 * server process (the flags of `deno task start`, its default warm pool of
 * 2, a throw-away data dir) on 127.0.0.1.
 *
 * Three modes of n requests each (n = 100, `--quick`: 20), the server idle
 * and its pool full before each mode:
 * - sequential: the next request once the previous one answered;
 * - staggered: one request every 200 ms, whatever is still running;
 * - burst: all n at once.
 *
 * p50/p95/p99 are over the requests that succeeded (200 and reason `exit`);
 * the others are counted by what they ended with (`503 cells_busy`,
 * `crash`, ...). Published anchors (Daytona, E2B) are printed beside ours.
 *
 * Run: `deno run -A bench/tti.ts [--quick]`.
 *
 * @module
 */

import { postRun, type RunAnswer, serverSettled, startServerProcess, stopServerProcess } from "./_peer_agentos.ts";
import { treeCpuMs } from "./_proc.ts";
import { fmt, loadAverage, percentile, sleep, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const n = quick ? 20 : 100;
const staggerMs = 200;
const poolSize = 2;
const trivial = `export default () => 1`;

/** Published create → first result figures, ms (p50 / p95 / p99). */
const anchors = {
  sequential: { Daytona: [186, 492, 560], E2B: [491, 685, 740] },
  burst: { Daytona: [367, 611, 741], E2B: [822, 965, 1048] },
} as const;

type Mode = "sequential" | "staggered" | "burst";

interface Outcome {
  ms: number;
  answer: RunAnswer;
}

interface ModeResult {
  mode: Mode;
  ok: number[];
  failures: Map<string, number>;
  wallMs: number;
  cpuMs: number;
  settled: boolean;
}

const succeeded = (a: RunAnswer) => a.reason === "exit" && a.result === 1;
const failureKey = (a: RunAnswer) => a.code ?? `${a.reason}: ${(a.message ?? "").slice(0, 60)}`;

async function runMode(
  mode: Mode,
  one: () => Promise<Outcome>,
  cpu: () => number,
): Promise<Omit<ModeResult, "settled">> {
  const outcomes: Outcome[] = [];
  const c0 = cpu();
  const t0 = performance.now();
  if (mode === "sequential") {
    for (let i = 0; i < n; i++) outcomes.push(await one());
  } else if (mode === "burst") {
    outcomes.push(...await Promise.all(Array.from({ length: n }, one)));
  } else {
    const pending: Promise<Outcome>[] = [];
    for (let i = 0; i < n; i++) {
      pending.push(one());
      if (i < n - 1) await sleep(Math.max(0, t0 + (i + 1) * staggerMs - performance.now()));
    }
    outcomes.push(...await Promise.all(pending));
  }
  const wallMs = performance.now() - t0;
  const failures = new Map<string, number>();
  for (const o of outcomes) {
    if (succeeded(o.answer)) continue;
    const key = failureKey(o.answer);
    failures.set(key, (failures.get(key) ?? 0) + 1);
  }
  const ok = outcomes.filter((o) => succeeded(o.answer)).map((o) => o.ms);
  return { mode, ok, failures, wallMs, cpuMs: cpu() - c0 };
}

function report(results: ModeResult[]): void {
  const rows: string[][] = [];
  for (const r of results) {
    const failed = [...r.failures.values()].reduce((a, b) => a + b, 0);
    rows.push([
      `agentos, ${r.mode}`,
      `${r.ok.length} / ${n}`,
      fmt(percentile(r.ok, 0.5), 0),
      fmt(percentile(r.ok, 0.95), 0),
      fmt(percentile(r.ok, 0.99), 0),
      failed === 0 ? "0" : [...r.failures].map(([k, c]) => `${c} × ${k.replaceAll("|", "\\|")}`).join("; "),
      fmt(r.wallMs / 1000, 1),
      fmt(r.cpuMs / n, 0),
    ]);
    const published = r.mode === "staggered" ? undefined : anchors[r.mode];
    for (const [who, [p50, p95, p99]] of Object.entries(published ?? {})) {
      rows.push([`${who} (published), ${r.mode}`, "—", String(p50), String(p95), String(p99), "—", "—", "—"]);
    }
  }
  table(
    `Time to interactive: create → first result over HTTP, ms (n = ${n} per mode; \`POST /v1/agents\` with \`wait: true\`, program \`export default () => 1\`; staggered: one every ${staggerMs} ms)`,
    [
      "who, mode",
      "succeeded",
      "p50",
      "p95",
      "p99",
      "failures by code",
      "mode wall s",
      "server + cells CPU ms per request",
    ],
    rows,
  );
  const unsettled = results.filter((r) => !r.settled).map((r) => r.mode);
  if (unsettled.length > 0) {
    console.log(`\nThe server was not idle with a full pool within 30 s before: ${unsettled.join(", ")}.`);
  }
}

async function main(): Promise<void> {
  console.log(`# Time to interactive${quick ? " (--quick)" : ""}\n`);
  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, load average ${await loadAverage()}.`,
  );
  const { server, key } = await startServerProcess(poolSize);
  console.log(`A real server process (pid ${server.pid}, the flags of \`deno task start\`), warm pool ${poolSize}.`);
  const one = async (): Promise<Outcome> => {
    const t0 = performance.now();
    const answer = await postRun(server, key, trivial);
    return { ms: performance.now() - t0, answer };
  };
  try {
    // Warm-up: the server's JIT and SQLite, not measured.
    for (let i = 0; i < 5; i++) await one();
    const results: ModeResult[] = [];
    for (const mode of ["sequential", "staggered", "burst"] as const) {
      const settled = await serverSettled(server, poolSize);
      results.push({ ...await runMode(mode, one, () => treeCpuMs(server.pid)), settled });
    }
    report(results);
  } finally {
    await stopServerProcess(server);
  }
  console.log(`\nLoad average at the end: ${await loadAverage()}.`);
}

if (import.meta.main) await main();
