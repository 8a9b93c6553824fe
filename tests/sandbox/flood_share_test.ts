/**
 * Flow control at the pipe through real cells: a tenant flooding batches
 * while another tenant's agent makes calls is held at its cells' stdout (its
 * queued work stays bounded), and every call of both is answered.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";
import { tenantBacklogJobsShare } from "../../limits.ts";
import { batchSliceCalls } from "../../sandbox/limits.ts";
import type { Agent, AgentResult, Runtime } from "../../sandbox/runtime.ts";

const batch = 500;
const floodAgents = 4;
const calmCalls = 300;

const floodCode = `let stop = false;
sys.onSignal(() => { stop = true; });
export default async () => {
  const list = Array.from({ length: ${batch} }, () => ({ call: "time.now" }));
  let calls = 0, bad = 0;
  while (!stop) {
    const done = await sys.batch(list);
    calls += done.length;
    for (const c of done) if (!c.ok) bad++;
  }
  return { calls, bad };
};`;

const calmCode = `export default async () => {
  let ok = 0;
  for (let i = 0; i < ${calmCalls}; i++) if (typeof (await sys.time.now()) === "number") ok++;
  return ok;
};`;

/** Poll `cond` on macrotasks; fail with `what` after `ms`. */
async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function backlogOf(runtime: Runtime, tenant: string): number {
  const t = runtime.scheduler.stats().tenants.find((s) => s.tenant === tenant);
  return t === undefined ? 0 : t.queued + t.inflight;
}

Deno.test("flood share: a flooding tenant is held at the pipe while a calm tenant runs; every call of both is answered", async () => {
  await withRuntime(async (runtime) => {
    const limits = { syscallsPerSec: 1_000_000, wallMs: 120_000, cpuMs: 120_000 };
    const flood: Agent[] = [];
    for (let i = 0; i < floodAgents; i++) flood.push(await runtime.spawn({ code: floodCode, tenant: "flood", limits }));
    await until(() => flood.every((a) => a.proc.usage.syscalls > 0), "every flood agent made a call");
    const calmAgent = await runtime.spawn({ code: calmCode, tenant: "calm" });
    let calmEnded = false;
    void calmAgent.done.then(() => calmEnded = true);
    await until(() => calmAgent.proc.usage.syscalls > 0 || calmEnded, "the calm agent called");
    // The backlog from before calm was active drains first; from then on it stays bounded.
    await until(() => backlogOf(runtime, "flood") < tenantBacklogJobsShare, "the flood's backlog fell under the share");
    let peak = 0;
    const sampler = setInterval(() => peak = Math.max(peak, backlogOf(runtime, "flood")), 1);
    let calm: AgentResult;
    try {
      calm = await calmAgent.done;
    } finally {
      clearInterval(sampler);
    }
    assert.equal(calm.reason, "exit", calm.message);
    assert.equal(calm.result, calmCalls, "every calm call answered with a number");
    for (const a of flood) assert.ok(runtime.signal(a.pid, "TERM"));
    const ended = await Promise.all(flood.map((a) => a.done));
    for (const r of ended) {
      assert.equal(r.reason, "exit", r.message);
      const { calls, bad } = r.result as { calls: number; bad: number };
      assert.equal(bad, 0, "no flood call refused: backpressure, not drops");
      assert.ok(calls > 0 && calls % batch === 0, `whole batches answered (${calls})`);
    }
    const stats = runtime.scheduler.stats();
    assert.ok(stats.holds > 0, "the flood tenant was held at least once");
    // Held before decoding: a chunk is decoded only under the share, and adds at most one batch's slices.
    const bound = tenantBacklogJobsShare - 1 + Math.ceil(batch / batchSliceCalls);
    assert.ok(peak <= bound, `flood backlog peaked at ${peak} jobs, bound ${bound}`);
    assert.equal(stats.heldTenants, 0, "nobody held once the flood is over");
  }, { poolSize: 4, schedShareWindowMs: 60_000 }); // calm stays active for the share however slow the machine
});
