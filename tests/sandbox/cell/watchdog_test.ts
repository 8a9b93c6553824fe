/**
 * The cell's watchdog backs off while its agent is idle (up to
 * `watchdogIdleMsMax`) and snaps back when the agent wakes: a loop that an
 * idle agent starts from a timer, an interval or `Atomics.waitAsync` still
 * ends with its CPU limit, and the prelude's timer wrappers keep the
 * platform's behaviour (arguments, clearing, the value `waitAsync` settles to).
 */
import assert from "node:assert/strict";
import { watchdogIdleMsMax } from "../../../kernel/mod.ts";
import { withRuntime } from "../../helpers.ts";

const idleMs = 2 * watchdogIdleMsMax;

const wakes: Record<string, string> = {
  timeout: `await new Promise((r) => setTimeout(r, ${idleMs}));`,
  interval: `await new Promise((r) => { const id = setInterval(() => { clearInterval(id); r(); }, ${idleMs}); });`,
  waitAsync: `await Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${idleMs}).value;`,
};

for (const [name, wake] of Object.entries(wakes)) {
  Deno.test(`watchdog: a loop an idle agent starts from ${name} ends with its CPU limit`, async () => {
    await withRuntime(async (runtime) => {
      const r = await runtime.run({
        code: `export default async () => { ${wake} for (;;) {} };`,
        limits: { cpuMs: 200, wallMs: 60_000 },
      });
      assert.equal(r.reason, "cpu", `${r.reason}: ${r.message}`);
      assert.ok(r.usage.cpuMs >= 200, `charged ${r.usage.cpuMs} ms`);
    });
  });
}

Deno.test("watchdog: the wrapped timers keep arguments, clearing and waitAsync's value", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
  const a = await new Promise((r) => setTimeout((x, y) => r(x + y), 5, 2, 3));
  let ticks = 0;
  await new Promise((r) => { const id = setInterval((k) => { ticks += k; if (ticks >= 3) { clearInterval(id); r(); } }, 1, 1); });
  let fired = false;
  clearTimeout(setTimeout(() => { fired = true; }, 1));
  await new Promise((r) => setTimeout(r, 20));
  const i32 = new Int32Array(new SharedArrayBuffer(4));
  const timedOut = await Atomics.waitAsync(i32, 0, 0, 5).value;
  const notEqual = Atomics.waitAsync(i32, 0, 1, 5);
  const waiting = Atomics.waitAsync(i32, 0, 0, 5_000);
  Atomics.notify(i32, 0);
  return { a, ticks, fired, timedOut, notEqual: [notEqual.async, notEqual.value], woken: await waiting.value };
};`,
    });
    assert.equal(r.reason, "exit", `${r.reason}: ${r.message}`);
    assert.deepEqual(r.result, {
      a: 5,
      ticks: 3,
      fired: false,
      timedOut: "timed-out",
      notEqual: [false, "not-equal"],
      woken: "ok",
    });
  });
});
