/**
 * The bystander of the isolation tests: a tenant that is not under attack
 * measures its own round trips before and during an attack, in the same
 * test, and the test prints the ratio of the two p99s.
 *
 * Ratios are printed, never asserted: a 2-core CI machine under a real
 * attack is noisy, and the suite must not flake. What a test asserts is
 * containment that does not depend on timing (the server answers, the
 * bystander's work completes, counters and quotas hold exactly); the 3×
 * target on the ratio is tracked by `bench/isolation.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Runtime } from "../../sandbox/runtime.ts";

/** Round trips one sample takes. */
export const bystanderRoundTrips = 200;

/** Latency quantiles of one sample, ms. */
export interface Sample {
  n: number;
  p50Ms: number;
  p99Ms: number;
}

/** Quantiles of a list of latencies, ms. */
export function sampleOf(latenciesMs: number[]): Sample {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** Guest code: `n` `time.now` round trips; returns every latency, ms. */
export function roundTripCode(n: number = bystanderRoundTrips): string {
  return `export default async () => {
  const lat = [];
  for (let i = 0; i < ${n}; i++) {
    const t0 = performance.now();
    await sys.time.now();
    lat.push(performance.now() - t0);
  }
  return lat;
}`;
}

/**
 * A bystander agent of `tenant` on a runtime: `n` syscall round trips.
 *
 * @throws {AssertionError} if the bystander did not end normally
 */
export async function agentRoundTrips(runtime: Runtime, tenant: string, n?: number): Promise<Sample> {
  const r = await runtime.run({ code: roundTripCode(n), tenant });
  assert.equal(r.reason, "exit", `bystander ended with ${r.reason}: ${r.message}`);
  return sampleOf(r.result as number[]);
}

/** What the HTTP bystander needs: a base URL and its tenant's key. */
export interface HttpBystander {
  url: string;
  key: string;
}

/**
 * A bystander agent over HTTP (run-to-completion, `wait: true`): `n` syscall
 * round trips measured inside the agent.
 */
export async function httpAgentRoundTrips(b: HttpBystander, n?: number): Promise<Sample> {
  const res = await fetch(`${b.url}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${b.key}`, "content-type": "application/json" },
    body: JSON.stringify({ code: roundTripCode(n), wait: true }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `bystander spawn: ${res.status} ${JSON.stringify(body)}`);
  assert.equal(body.reason, "exit", `bystander ended with ${body.reason}: ${body.message}`);
  return sampleOf(body.result as number[]);
}

/** `n` sequential authenticated HTTP round trips (`GET /v1/agents?limit=1`), ms each. */
export async function httpRoundTrips(b: HttpBystander, n = 50): Promise<Sample> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`${b.url}/v1/agents?limit=1`, { headers: { authorization: `Bearer ${b.key}` } });
    await res.body?.cancel();
    lat.push(performance.now() - t0);
    assert.equal(res.status, 200, `bystander request ${i}: ${res.status}`);
  }
  return sampleOf(lat);
}

/**
 * Print the bystander's p99 before and during an attack and their ratio;
 * returns the ratio.
 */
export function reportRatio(attack: string, quiet: Sample, during: Sample): number {
  const ratio = during.p99Ms / Math.max(quiet.p99Ms, 0.001);
  console.log(
    `[isolation] ${attack}: bystander p99 ${quiet.p99Ms.toFixed(2)} ms quiet, ` +
      `${during.p99Ms.toFixed(2)} ms under attack (${ratio.toFixed(2)}x; p50 ${quiet.p50Ms.toFixed(2)} → ` +
      `${during.p50Ms.toFixed(2)} ms, n=${during.n})`,
  );
  return ratio;
}
