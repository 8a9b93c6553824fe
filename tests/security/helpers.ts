/**
 * Helpers of the security suite: a bystander agent that must keep working
 * beside every attack, canary files outside the workspace, and a tiny
 * "attempt" harness for guest code.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AgentResult, Runtime } from "../../sandbox/runtime.ts";

/** Number of syscalls the bystander makes. */
export const bystanderCalls = 50;

/** A well-behaved agent: `bystanderCalls` round trips, result = count, plus its latency median. */
export const bystanderCode = `export default async () => {
  const lat = [];
  let n = 0;
  for (let i = 0; i < ${bystanderCalls}; i++) {
    const t0 = performance.now();
    if ((await sys.time.now()) > 0) n++;
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  return { n, medianMs: lat[lat.length >> 1] };
}`;

/** Start a bystander on `runtime` (optionally for `tenant`). */
export function startBystander(runtime: Runtime, tenant?: string): Promise<AgentResult> {
  return runtime.run({ code: bystanderCode, tenant });
}

/** Assert the bystander finished normally; returns its median round trip in ms. */
export async function assertBystanderOk(pending: Promise<AgentResult>): Promise<number> {
  const b = await pending;
  assert.equal(b.reason, "exit", `bystander ended with ${b.reason}: ${b.message}`);
  const result = b.result as { n: number; medianMs: number };
  assert.equal(result.n, bystanderCalls);
  return result.medianMs;
}

/** Assert the runtime still serves: a trivial agent returns its result. */
export async function assertRuntimeServes(runtime: Runtime): Promise<void> {
  const r = await runtime.run({ code: "export default async () => (await sys.time.now()) > 0" });
  assert.equal(r.reason, "exit", r.message);
  assert.equal(r.result, true);
}

/** Canary text: must never show up in anything an agent gets back. */
export const canaryText = "CANARY-7f3a-outside-the-workspace";

/** Everything under `dir` (recursive), as relative path → content or "<dir>"/"<link>". */
export async function snapshotTree(dir: string, skip: readonly string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(rel === "" ? dir : `${dir}/${rel}`)) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (skip.includes(path)) continue;
      if (entry.isSymlink) out[path] = "<link>";
      else if (entry.isDirectory) {
        out[path] = "<dir>";
        await walk(path);
      } else out[path] = await Deno.readTextFile(`${dir}/${path}`);
    }
  };
  await walk("");
  return out;
}

/**
 * Guest-side harness text: defines `out` and `attempt(name, fn)` which
 * records the value (strings truncated) or the error's `code`/`name`.
 */
export const attemptHarness = `
  const out = {};
  const attempt = async (name, fn) => {
    try {
      const v = await fn();
      out[name] = { ok: true, value: typeof v === "string" ? v.slice(0, 200) : typeof v === "function" ? "<function>" : v === undefined ? null : String(v).slice(0, 200) };
    } catch (e) {
      out[name] = { ok: false, code: e?.code ?? e?.name ?? String(e), message: String(e?.message ?? e).slice(0, 200) };
    }
  };
`;

/** An outcome recorded by {@linkcode attemptHarness}. */
export type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** Poll `fn` until it is truthy (bounded). */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await fn())) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
