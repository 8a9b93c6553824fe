/**
 * Recycled cells through real cells: a cell whose agent ended by itself
 * hosts the same tenant's next agent in a fresh Worker — never another
 * tenant's, never after a kill, a limit or a timeout — and the next agent
 * sees nothing of the last one (globals, prototypes, timers, output,
 * pending calls). A cell whose old Worker still runs is not reused.
 */
import assert from "node:assert/strict";
import type { Runtime } from "../../../sandbox/mod.ts";
import { assertNothingHeld, withRuntime } from "../../helpers.ts";

/** Run `code` for `tenant`; the OS pid of the cell that hosted it, and its result. */
async function runIn(runtime: Runtime, tenant: string, code: string, extra: Record<string, unknown> = {}) {
  const agent = await runtime.spawn({ code, tenant, ...extra });
  const osPid = agent.cell?.osPid;
  const result = await agent.done;
  return { osPid, result };
}

/** Wait (bounded) until the pool has kept `kept` cells so far. */
async function settled(runtime: Runtime, kept: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (runtime.pool.stats().recycledKept < kept) {
    assert.ok(Date.now() < deadline, `no cell was kept: ${JSON.stringify(runtime.pool.stats())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("recycle: the same tenant's next agent runs in the cell of the last, and sees nothing of it", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const first = await runIn(
      runtime,
      "t1",
      `export default () => {
  globalThis.leak = "secret";
  Array.prototype.evil = () => "poisoned";
  JSON.parse = () => "poisoned";
  setInterval(() => console.log("from the last agent"), 1);
  new Promise(() => {});
  return 1;
}`,
    );
    assert.equal(first.result.reason, "exit", first.result.message);
    await settled(runtime, 1);
    const second = await runIn(
      runtime,
      "t1",
      `export default async () => {
  await new Promise((r) => setTimeout(r, 50));
  return { leak: typeof globalThis.leak, evil: typeof [].evil, parse: JSON.parse("[1]")[0], pid: (await sys.info()).pid };
}`,
    );
    assert.equal(second.osPid, first.osPid, "the second agent got the first one's cell");
    assert.equal(second.result.reason, "exit", second.result.message);
    assert.deepEqual(second.result.result, { leak: "undefined", evil: "undefined", parse: 1, pid: second.result.pid });
    assert.equal(second.result.stdout, "", "nothing the last agent's timers printed reached the next agent");
    assert.equal(runtime.pool.stats().recycledHits, 1);
    await assertNothingHeld(runtime, dataDir, second.result.pid);
  }, { poolSize: 0 });
});

Deno.test("recycle: never across tenants, never after a kill, a limit or a timeout", async () => {
  await withRuntime(async (runtime) => {
    const a = await runIn(runtime, "t1", `export default () => 1`);
    await settled(runtime, 1);
    const other = await runIn(runtime, "t2", `export default () => 2`);
    assert.notEqual(other.osPid, a.osPid, "another tenant never gets the cell");
    assert.equal(runtime.pool.stats().recycledHits, 0);
    const ended = [
      { code: `export default () => { for (;;) {} }`, limits: { cpuMs: 200 } },
      { code: `export default () => new Promise(() => {})`, limits: { wallMs: 300 } },
      {
        code: `export default () => { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }`,
        limits: { memoryMb: 64 },
      },
    ];
    for (const spec of ended) {
      const before = runtime.pool.stats().recycleRefused.ended ?? 0;
      const r = await runIn(runtime, "t3", spec.code, { limits: spec.limits });
      assert.notEqual(r.result.reason, "exit");
      const deadline = Date.now() + 20_000;
      while ((runtime.pool.stats().recycleRefused.ended ?? 0) === before) {
        assert.ok(Date.now() < deadline, `${r.result.reason}: the cell's refusal was never counted`);
        await new Promise((res) => setTimeout(res, 5));
      }
    }
    const killed = await runtime.spawn({ code: `export default () => new Promise(() => {})`, tenant: "t3" });
    runtime.kill(killed.pid);
    await killed.done;
    const next = await runIn(runtime, "t3", `export default () => 3`);
    assert.notEqual(next.osPid, killed.cell?.osPid, "a killed agent's cell is never reused");
  }, { poolSize: 0 });
});

Deno.test("recycle: a cell whose old Worker still runs after exit is not reused", async () => {
  await withRuntime(async (runtime) => {
    const spinner = await runtime.spawn({
      tenant: "t1",
      code: `export default () => { setTimeout(() => { for (;;) {} }, 0); sys.exit(0); }`,
    });
    const cell = spinner.cell!;
    assert.equal((await spinner.done).reason, "exit");
    // The cell's fate is decided in the background: kept (quiet) or refused (busy).
    const deadline = Date.now() + 20_000;
    while (runtime.pool.stats().recycledKept === 0 && (runtime.pool.stats().recycleRefused.busy ?? 0) === 0) {
      assert.ok(Date.now() < deadline, `the spinner's cell was neither kept nor refused`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const next = await runIn(runtime, "t1", `export default () => 42`);
    assert.equal(next.result.result, 42);
    if (next.osPid === cell.osPid) {
      // terminate() landed before the loop started: the cell was quiet, and reusing it was right.
      assert.equal(runtime.pool.stats().recycledHits, 1);
    } else {
      // The loop was running: the cell said so at `recycle` and exited rather than host anyone.
      const status = await cell.status;
      assert.equal(status.code, 73, "exit status cellExitBusy");
      assert.equal(runtime.pool.stats().recycleRefused.busy, 1);
    }
  }, { poolSize: 0 });
});
