/**
 * Regression (issue 10): rate rules of a tenant's policy were counted per
 * pid (`rateKey: String(proc.pid)` for every rule), so spawning more
 * agents multiplied a tenant's rate, and a new agent on a recycled pid
 * inherited the previous agent's buckets. Now a tenant's buckets are
 * tenant-wide and an own policy's are keyed by the spawn's `uid`.
 */
import assert from "node:assert/strict";
import { agentLimitsDefault } from "../../kernel/limits.ts";
import { type Process, ProcessTable } from "../../kernel/process/table.ts";
import { PolicyLayer } from "../../sandbox/policy_layer.ts";
import { withRuntime } from "../helpers.ts";

/** The errno of a policy verdict (`null`: allowed). */
const errnoOf = (v: unknown) => (v as { errno?: string } | null)?.errno;

const ratePerSec = 20;
const burst = 20;
const windowMs = 1000;

/** `time.now` is rate limited; everything else is allowed. */
const timeRated = {
  version: 1,
  rules: [
    { id: "clock", effect: "allow", calls: ["time.now"], rate: { perSec: ratePerSec, burst } },
    { effect: "allow", calls: ["*"] },
  ],
};

/**
 * Calls `time.now` for `windowMs` and at least until it is refused once (a
 * loaded machine may serve fewer calls than the rate in that window; a 20 s
 * bound, under the default 30 s wall), counting what was served; the window comes from the agent's own clock.
 */
const clockLoop = `export default async () => {
  const start = Date.now();
  let ok = 0, again = 0;
  while ((Date.now() - start < ${windowMs} || again === 0) && Date.now() - start < 20000) {
    try { await sys.time.now(); ok++; }
    catch (e) { if (e.code !== "EAGAIN") throw e; again++; }
  }
  return { ok, again, start, end: Date.now() };
}`;

interface LoopResult {
  ok: number;
  again: number;
  start: number;
  end: number;
}

Deno.test("policy rate: a tenant's rate rule is tenant-wide, whatever number of agents it spawns", async () => {
  await withRuntime(async (runtime) => {
    runtime.policy.setTenant("acme", timeRated);
    const agents = await Promise.all([0, 1, 2].map(() => runtime.spawn({ tenant: "acme", code: clockLoop })));
    const results = await Promise.all(agents.map((a) => a.done));
    for (const r of results) assert.equal(r.reason, "exit", r.message);
    const loops = results.map((r) => r.result as LoopResult);
    const served = loops.reduce((n, l) => n + l.ok, 0);
    // +1 ms: `Date.now()` counts whole milliseconds, so the measured window may be up to 1 ms short.
    const windowSec = (Math.max(...loops.map((l) => l.end)) - Math.min(...loops.map((l) => l.start)) + 1) / 1000;
    const ceiling = burst + ratePerSec * windowSec;
    console.log(
      `served ${served} (per agent ${loops.map((l) => l.ok).join(", ")}) of ` +
        `${loops.reduce((n, l) => n + l.ok + l.again, 0)} calls in ${windowSec.toFixed(3)} s; ceiling ${
          ceiling.toFixed(1)
        }`,
    );
    assert.ok(loops.every((l) => l.again > 0), "every agent ran into the limit");
    assert.ok(served >= burst, "the burst was served");
    assert.ok(served <= ceiling, `3 agents were served ${served} calls, over burst + rate × window = ${ceiling}`);
  }, { poolSize: 3 });
});

const limits = { ...agentLimitsDefault };

/** A row of `table` registered with `layer` (like `Runtime.spawn` does). */
function spawn(table: ProcessTable, layer: PolicyLayer, parent = 0, doc: unknown = null): Process {
  const proc = table.create({ tenant: "t", parent, capabilities: [], limits, nowMs: 0 });
  layer.attach(proc, doc);
  return proc;
}

/** Ends a row (like `Runtime` does at exit): its pid becomes free for the next spawn. */
function exit(table: ProcessTable, layer: PolicyLayer, proc: Process): void {
  layer.dropPid(proc.pid);
  for (const to of ["Exiting", "Zombie", "Reaped"] as const) assert.ok(table.transition(proc, to));
}

/** `time.now` calls of `proc` allowed before the first `EAGAIN` (at most `max`). */
function servedUntilLimited(layer: PolicyLayer, proc: Process, max = 100): number {
  let n = 0;
  while (n < max && layer.check(proc, "time.now", {}, []) === null) n++;
  return n;
}

Deno.test("policy rate: a new agent on a recycled pid does not inherit the old agent's bucket", () => {
  const now = 0; // the clock stands still: nothing refills
  const layer = new PolicyLayer(() => "/root", { clock: () => now });
  const table = new ProcessTable({ pidMax: 2 });
  // The parent's own policy limits each of its children (buckets per spawn).
  const parent = spawn(table, layer, 0, {
    version: 1,
    rules: [{ effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst: 5 } }, { effect: "allow", calls: ["*"] }],
  });
  const first = spawn(table, layer, parent.pid);
  assert.equal(servedUntilLimited(layer, first), 5);
  assert.equal(errnoOf(layer.check(first, "time.now", {}, [])), "EAGAIN");
  exit(table, layer, first);
  const second = spawn(table, layer, parent.pid);
  assert.equal(second.pid, first.pid, "the pid was recycled");
  assert.notEqual(second.uid, first.uid);
  assert.equal(servedUntilLimited(layer, second), 5, "a fresh bucket, not the previous agent's debt");
});

Deno.test("policy rate: tenant buckets are shared by its agents, own-policy buckets are per agent", () => {
  const now = 0;
  const layer = new PolicyLayer(() => "/root", { clock: () => now });
  const table = new ProcessTable();
  layer.setTenant("t", {
    version: 1,
    rules: [{ effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst: 4 } }, { effect: "allow", calls: ["*"] }],
  });
  const a = spawn(table, layer), b = spawn(table, layer);
  assert.equal(servedUntilLimited(layer, a), 4);
  assert.equal(servedUntilLimited(layer, b), 0, "a second agent does not bring its own tenant tokens");
  const other = table.create({ tenant: "u", capabilities: [], limits, nowMs: 0 });
  layer.attach(other);
  layer.setTenant("u", {
    version: 1,
    rules: [{ effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst: 4 } }, { effect: "allow", calls: ["*"] }],
  });
  assert.equal(servedUntilLimited(layer, other), 4, "another tenant with the same document has its own buckets");
  // Siblings under a parent's own rate rule each get their own bucket of it (keyed by spawn id).
  layer.setTenant("t", null);
  const parent = spawn(table, layer, 0, {
    version: 1,
    rules: [{ effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst: 2 } }, { effect: "allow", calls: ["*"] }],
  });
  const c1 = spawn(table, layer, parent.pid), c2 = spawn(table, layer, parent.pid);
  assert.deepEqual([servedUntilLimited(layer, c1), servedUntilLimited(layer, c2)], [2, 2]);
});

Deno.test("policy rate: asking about a decision (fast-path probe, explain) takes no tokens", () => {
  const now = 0;
  const layer = new PolicyLayer(() => "/root", { clock: () => now });
  const table = new ProcessTable();
  layer.setTenant("t", {
    version: 1,
    rules: [{ effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst: 3 } }, { effect: "allow", calls: ["*"] }],
  });
  const a = spawn(table, layer);
  for (let i = 0; i < 10; i++) {
    assert.equal(layer.stableAllow(a, "time.now"), null, "a rated call never skips the policy check");
    assert.equal(layer.explain("t", { call: "time.now" }).effect, "allow");
  }
  assert.equal(servedUntilLimited(layer, a), 3);
  const limited = layer.explain("t", { call: "time.now" });
  assert.deepEqual([limited.effect, limited.effect === "deny" && limited.reason], ["deny", "rate"]);
});
