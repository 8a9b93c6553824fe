/**
 * Tenant isolation under load: one tenant floods the server with spawns (most
 * refused with 429) and with agents that issue syscalls in a tight loop, while
 * another tenant's run-to-completion requests keep succeeding. Latencies are
 * printed, never asserted (machines are noisy).
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createTenant, type TestServer, withServer } from "./helpers.ts";

/** Sequential calm runs per phase. */
const calmRuns = 15;
/** The flood lasts at least this long, ms. */
const floodMsMin = 3_000;
/** ... and at most this long, even if the calm runs are slow, ms. */
const floodMsMax = 5_000;
/** Spawn requests the flood may send in all. */
const floodRequestsMax = 3_000;
/** Parallel flood clients. */
const floodClients = 8;
/** Let the flood ramp up before measuring, ms. */
const floodRampMs = 300;
/** Wall-clock limit of the flood's syscall agents, ms. */
const floodAgentWallMs = 2_000;

const calmCode = "export default () => 1";
const floodCode = "export default async () => { for (;;) await sys.time.now(); }";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}

/** `calmRuns` sequential run-to-completion requests; asserts each one; returns latencies, ms. */
async function runCalm(s: TestServer, key: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < calmRuns; i++) {
    const t0 = performance.now();
    const res = await s.req("/v1/agents", { method: "POST", key, json: { code: calmCode, wait: true } });
    const body = await res.json();
    latencies.push(performance.now() - t0);
    assert.equal(res.status, 200, `calm run ${i}: ${res.status} ${JSON.stringify(body)}`);
    assert.equal(body.reason, "exit", `calm run ${i}: ${JSON.stringify(body)}`);
    assert.equal(body.result, 1);
  }
  return latencies;
}

interface FloodStats {
  requests: number;
  spawned: number;
  refused: Map<string, number>;
  /** Most flood agents the service counted live at once (sampled). */
  liveMax: number;
}

/** Parallel spawn requests until `stop()` says so or the request budget is spent. */
async function runFlood(
  s: TestServer,
  tenant: { id: string; apiKey: string },
  stop: () => boolean,
): Promise<FloodStats> {
  const { id: tenantId, apiKey: key } = tenant;
  const stats: FloodStats = { requests: 0, spawned: 0, refused: new Map(), liveMax: 0 };
  const sampler = setInterval(() => {
    stats.liveMax = Math.max(stats.liveMax, s.service.liveCounts().get(tenantId) ?? 0);
  }, 5);
  const client = async () => {
    while (!stop() && stats.requests < floodRequestsMax) {
      stats.requests++;
      const res = await s.req("/v1/agents", {
        method: "POST",
        key,
        json: { code: floodCode, limits: { wallMs: floodAgentWallMs } },
      });
      const body = await res.json();
      if (res.status === 201) {
        stats.spawned++;
        continue;
      }
      assert.equal(res.status, 429, `flood: ${res.status} ${JSON.stringify(body)}`);
      assert.ok(res.headers.get("retry-after"), "429 without Retry-After");
      assert.match(body.error.code, /^quota_/);
      stats.refused.set(body.error.code, (stats.refused.get(body.error.code) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: floodClients }, client));
  } finally {
    clearInterval(sampler);
  }
  return stats;
}

Deno.test("isolation: a flooding tenant never starves another tenant's runs", async () => {
  await withServer(async (s) => {
    const flood = await createTenant(s, "flood", { agentsConcurrentMax: 4, spawnsPerSec: 20 });
    const calm = await createTenant(s, "calm");
    const baseline = await runCalm(s, calm.apiKey);

    const started = performance.now();
    let calmDone = false;
    const stop = () => {
      const elapsed = performance.now() - started;
      return elapsed >= floodMsMax || (calmDone && elapsed >= floodMsMin);
    };
    const flooding = runFlood(s, flood, stop);
    let during: number[];
    try {
      await sleep(floodRampMs);
      during = await runCalm(s, calm.apiKey);
    } finally {
      calmDone = true;
    }
    const stats = await flooding;
    const floodMs = performance.now() - started;

    const refused = [...stats.refused.values()].reduce((a, b) => a + b, 0);
    console.log(
      `calm p50 ${median(baseline).toFixed(1)} ms alone, ${median(during).toFixed(1)} ms during the flood ` +
        `(max ${Math.max(...during).toFixed(1)} ms); flood: ${stats.requests} requests in ${floodMs.toFixed(0)} ms, ` +
        `${stats.spawned} spawned, ${refused} refused ${JSON.stringify(Object.fromEntries(stats.refused))}, ` +
        `at most ${stats.liveMax} flood agents live at once (quota 4)`,
    );
    assert.ok(refused >= 1, "the flood never got a 429");
    assert.ok(stats.spawned >= 1, "the flood never got an agent running");
    // Sampled, so a lower bound of the true maximum: concurrent spawns must not overshoot the quota.
    assert.ok(stats.liveMax <= 4, `flood had ${stats.liveMax} agents live at once, quota 4`);
    const health = await s.req("/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const after = await s.req("/v1/agents", { method: "POST", key: calm.apiKey, json: { code: calmCode, wait: true } });
    assert.equal((await after.json()).result, 1);
  });
});
