/**
 * Cells under overload, through real cells: cold starts pass a bounded
 * start gate (a burst waits instead of starving every start past its
 * deadline, so none ends `crash`), a spawn that cannot get a cell in time
 * is refused with `CellsBusyError` (never `crash`), and a warm cell that
 * does not answer its liveness ping (SIGSTOPped) is never handed out.
 */
import assert from "node:assert/strict";
import { withTimeout } from "../../../lib/mod.ts";
import { CellsBusyError } from "../../../sandbox/mod.ts";
import { StartGate } from "../../../sandbox/cell/mod.ts";
import { cellStartsMaxDefault } from "../../../sandbox/limits.ts";
import { assertNothingHeld, withRuntime } from "../../helpers.ts";

/** Quotas that let one tenant run a burst (the default allows 32 at once). */
const burstQuotas = { default: { agentsConcurrentMax: 10_000, spawnsPerSec: 10_000, rssMbTotal: 1_000_000 } };

Deno.test("cells: a burst of run-to-completion spawns on a start limit of 2 all end exit; starts never exceed it", async () => {
  await withRuntime(async (runtime) => {
    const burst = 40;
    const results = await withTimeout(
      Promise.all(Array.from({ length: burst }, (_, i) => runtime.run({ code: `export default () => ${i}` }))),
      120_000,
      () => new Error("the burst did not finish within 120 s"),
    );
    const reasons = results.map((r) => `${r.reason}${r.reason === "exit" ? "" : `: ${r.message}`}`);
    assert.deepEqual(reasons, Array(burst).fill("exit"));
    assert.deepEqual(results.map((r) => r.result), Array.from({ length: burst }, (_, i) => i));
    const stats = runtime.pool.stats();
    assert.equal(stats.startsMax, 2);
    assert.ok(stats.startingPeak <= 2, `${stats.startingPeak} cells started at once over a limit of 2`);
    assert.ok(stats.waitingPeak > 0, "the burst never waited for a start slot");
    assert.equal(stats.startsRefused, 0);
  }, { poolSize: 1, cellStartsMax: 2, tenantQuotas: burstQuotas });
});

Deno.test("cells: the default start limit follows the machine's cores", () => {
  assert.equal(cellStartsMaxDefault(1), 2);
  assert.equal(cellStartsMaxDefault(8), 16);
  assert.ok(cellStartsMaxDefault() >= 2);
});

Deno.test("cells: a SIGSTOPped warm cell is not handed out; the agent gets another and ends exit", async () => {
  await withRuntime(async (runtime) => {
    const stopped = runtime.pool.warmPids();
    assert.equal(stopped.length, 2, "the pool is not full after start");
    for (const pid of stopped) Deno.kill(pid, "SIGSTOP");
    const agent = await runtime.spawn({ code: "export default () => 'ran'", limits: { wallMs: 15_000 } });
    assert.ok(!stopped.includes(agent.cell!.osPid), "the agent got a stopped cell");
    const r = await agent.done;
    assert.equal(r.reason, "exit", `${r.reason}: ${r.message}`);
    assert.equal(r.result, "ran");
    const stats = runtime.pool.stats();
    assert.equal(stats.pingFailures, 2);
    for (const pid of runtime.pool.warmPids()) assert.ok(!stopped.includes(pid), "a stopped cell is still pooled");
  }, { poolSize: 2 });
});

Deno.test("cells: a spawn that waits past cellStartWaitMsMax is refused with CellsBusyError (error, never crash)", async () => {
  await withRuntime(async (runtime, dataDir) => {
    // The gate's only slot, held: every cold start (and refill) waits.
    const release = await runtime.pool.gate.admit({ tenant: "test" });
    try {
      // The parent gets the warm cell; its child needs a cold start and is refused: EAGAIN, like any backpressure.
      const parent = await runtime.run({
        capabilities: ["proc.spawn"],
        code: `export default async () => {
          try { await sys.proc.spawn("export default () => 1"); return "spawned"; } catch (e) { return [e.code, e.message]; }
        }`,
      });
      assert.equal(parent.reason, "exit", parent.message);
      const [code, message] = parent.result as string[];
      assert.equal(code, "EAGAIN");
      assert.match(message, /cells busy/);
      // Straight from the API's side: the spawn throws the error, the agent's record says error, nothing is held.
      let pid = 0;
      let reason: string | undefined;
      const err = await runtime.spawn({
        code: "export default () => 1",
        onCreated: (a) => {
          pid = a.pid;
          void a.done.then((r) => reason = `${r.reason}: ${r.message}`);
        },
      }).then(() => assert.fail("the spawn was not refused"), (e: unknown) => e);
      assert.ok(err instanceof CellsBusyError, `refused with ${err}`);
      assert.equal(err.code, "EAGAIN");
      assert.equal(err.apiCode, "cells_busy");
      assert.ok(err.retryAfterSec > 0);
      assert.match(err.message, /cells busy: 1 of 1 cell starts in progress and none free for 200 ms/);
      assert.match(err.message, /RuntimeOptions\.cellStartsMax/);
      await runtime.get(pid)?.done;
      assert.match(reason ?? "", /^error: cells busy/);
      assert.equal(runtime.pool.stats().startsRefused, 2);
      await assertNothingHeld(runtime, dataDir, pid);
    } finally {
      release();
    }
    assert.equal((await runtime.run({ code: "export default () => 2" })).result, 2);
  }, { poolSize: 1, cellStartsMax: 1, cellStartWaitMsMax: 200, cellReuse: false }); // every spawn after the warm cell starts one
});

Deno.test("cells: the start gate admits at most startsMax, FIFO within a tenant, and refuses a full queue", async () => {
  const gate = new StartGate({ startsMax: 2, waitMsMax: 60_000, queueMax: 1 });
  const a = await gate.admit({ tenant: "t" });
  const b = await gate.admit({ tenant: "t" });
  assert.deepEqual([gate.stats().starting, gate.stats().waiting], [2, 0]);
  const c = gate.admit({ tenant: "t" });
  assert.equal(gate.stats().waiting, 1);
  await assert.rejects(
    gate.admit({ tenant: "u" }),
    (e: unknown) => e instanceof CellsBusyError && /1 spawns already wait/.test(e.message),
  );
  a();
  const releaseC = await c;
  assert.deepEqual([gate.stats().starting, gate.stats().waiting], [2, 0]);
  assert.equal(gate.admitIdle(), undefined, "a refill took a slot while none was free");
  b();
  releaseC();
  const idle = gate.admitIdle();
  assert.ok(idle !== undefined);
  (await idle)();
  const canceled = new AbortController();
  const held = [await gate.admit({ tenant: "t" }), await gate.admit({ tenant: "t" })];
  const waiting = gate.admit({ tenant: "t", signal: canceled.signal });
  canceled.abort();
  await assert.rejects(waiting, { code: "ECANCELED" });
  for (const release of held) release();
  assert.deepEqual(gate.stats(), { starting: 0, waiting: 0, refused: 1, startingPeak: 2, waitingPeak: 1 });
});
