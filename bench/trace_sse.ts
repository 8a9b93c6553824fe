/**
 * A full trace through one SSE reader: a real server on 127.0.0.1, one
 * agent spawned with `trace: "full"` issuing `sys.batch` of 1000
 * `time.now` for a few seconds, and one reader of
 * `GET /v1/agents/:id/events` in its own process (`bench/_sse_reader.ts`)
 * counting the `syscall` events it receives and every `event: dropped`.
 * The agent's rate is raised to the agent maximum and its tenant's to the
 * tenant maximum, so nothing but the machine bounds it. Prints the events/s
 * the reader received, the drops, the agent's own calls/s, and what the
 * trace writer (SQLite) did with the trace (it keeps its per-agent bound).
 *
 *   deno run -A bench/trace_sse.ts [--quick]
 *
 * @module
 */

import { startServer } from "../api/server.ts";
import { agentLimitsMax } from "../kernel/mod.ts";
import { tenantQuotasMax } from "../kernel/tenants/mod.ts";
import { fmt, loadAverage, median, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const runs = quick ? 2 : 5;
const seconds = quick ? 2 : 4;
const adminKey = "bench-admin-key-0123456789abcdef";

const agentCode = `export default async () => {
  await new Promise((r) => setTimeout(r, 500)); // the reader connects
  const list = Array.from({ length: 1000 }, () => ({ call: "time.now" }));
  let calls = 0, ok = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ${seconds * 1000}) {
    for (const r of await sys.batch(list)) { calls++; if (r.ok) ok++; }
  }
  return { calls, ok, ms: performance.now() - t0 };
};`;

console.log(`load average at start: ${await loadAverage()}`);
const dataDir = await Deno.makeTempDir({ prefix: "agentos-trace-sse-" });
const server = await startServer({
  host: "127.0.0.1",
  port: 0,
  dataDir,
  poolSize: 2,
  adminKey,
  handleSignals: false,
  log: false,
});
const req = (path: string, key: string, json?: unknown) =>
  fetch(`${server.url}${path}`, {
    method: json === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
const tenantRes = await req("/v1/tenants", adminKey, {
  name: "bench",
  quotas: { syscallsPerSec: tenantQuotasMax.syscallsPerSec },
});
const tenant = await tenantRes.json() as { apiKey: string };
const reader = new URL("./_sse_reader.ts", import.meta.url).pathname;

interface Run {
  eventsPerSec: number;
  received: number;
  dropped: number;
  calls: number;
  callsPerSec: number;
}
const results: Run[] = [];
const plain: number[] = [];
for (let r = 0; r < runs; r++) {
  // The same agent sampled and unread: the batched throughput of one agent, for comparison.
  const alone = await req("/v1/agents", tenant.apiKey, {
    code: agentCode,
    wait: true,
    limits: { syscallsPerSec: agentLimitsMax.syscallsPerSec, wallMs: (seconds + 30) * 1000 },
  });
  const aloneBody = await alone.json() as { result: { ok: number; ms: number } };
  plain.push(aloneBody.result.ok / (aloneBody.result.ms / 1000));
  const spawned = await req("/v1/agents", tenant.apiKey, {
    code: agentCode,
    trace: "full",
    limits: { syscallsPerSec: agentLimitsMax.syscallsPerSec, wallMs: (seconds + 30) * 1000 },
  });
  const { id } = await spawned.json() as { id: string };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", reader, `${server.url}/v1/agents/${id}/events`, tenant.apiKey],
    stdout: "piped",
  }).output();
  const read = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    types: Record<string, number>;
    dropped: number;
    ms: number;
  };
  const agent = await (await req(`/v1/agents/${id}/wait`, tenant.apiKey)).json() as {
    result: { calls: number; ok: number; ms: number };
  };
  const received = read.types.syscall ?? 0;
  results.push({
    eventsPerSec: received / (read.ms / 1000),
    received,
    dropped: read.dropped,
    calls: agent.result.calls,
    callsPerSec: agent.result.ok / (agent.result.ms / 1000),
  });
}
const stats = server.service.traces.stats;
table(
  `A \`trace: "full"\` agent (batches of 1000 \`time.now\`, ~${seconds} s) and one SSE reader in its own process, ${runs} runs`,
  ["run", "syscall events received", "events/s at the reader", "`dropped` events", "agent calls (ok)", "agent calls/s"],
  [
    ...results.map((x, i) => [
      String(i + 1),
      String(x.received),
      fmt(x.eventsPerSec, 0),
      String(x.dropped),
      String(x.calls),
      fmt(x.callsPerSec, 0),
    ]),
    [
      "median",
      "",
      fmt(median(results.map((x) => x.eventsPerSec)), 0),
      String(median(results.map((x) => x.dropped))),
      "",
      fmt(median(results.map((x) => x.callsPerSec)), 0),
    ],
  ],
);
table("The same agent, sampled, no reader (batched throughput of one agent over HTTP)", ["run", "calls/s"], [
  ...plain.map((x, i) => [String(i + 1), fmt(x, 0)]),
  ["median", fmt(median(plain), 0)],
]);
console.log(`\ntrace writer: ${JSON.stringify(stats)}`);
console.log(`load average at end: ${await loadAverage()}`);
await server.close();
await Deno.remove(dataDir, { recursive: true });
