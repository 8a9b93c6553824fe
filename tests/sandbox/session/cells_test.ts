/**
 * Session cells through real cells: a REPL context that keeps its globals,
 * per-cell output, errors named by the cell, a busy cell over its time
 * (state lost, agent killed) and an awaiting cell interrupted (state kept).
 * Scripts here are written by hand in the REPL transform's output shape.
 */
import assert from "node:assert/strict";
import { assertNothingHeld, withRuntime } from "../../helpers.ts";

const cell = (body: string) => `(async () => { ${body} })()`;
const exec = { timeoutMs: 20_000, cpuMs: 10_000 };

Deno.test("session cells: globals persist, output is per cell, errors name the cell", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const agent = await runtime.spawn({ code: "", session: true, limits: { wallMs: 60_000 } });
    const pid = agent.pid;
    const a = await runtime.sessions.exec(pid, {
      ...exec,
      name: "cell1.js",
      script: cell(`globalThis.total = 40; console.log("one"); return { value: total + 2 };`),
    });
    assert.deepEqual([a.result, a.text, a.stdout, a.stderr, a.error], [42, "42", "one\n", "", null]);
    const b = await runtime.sessions.exec(pid, {
      ...exec,
      name: "cell2.js",
      script: cell(`console.error("two"); return { value: { total, list: [1, 2] } };`),
    });
    assert.deepEqual(b.result, { total: 40, list: [1, 2] });
    assert.equal(b.stdout, "");
    assert.equal(b.stderr, "two\n");
    const c = await runtime.sessions.exec(pid, {
      ...exec,
      name: "cell3.js",
      script: cell(`\nthrow new TypeError("bad " + total);`),
    });
    assert.equal(c.error?.name, "TypeError");
    assert.equal(c.error?.message, "bad 40");
    assert.match(c.error?.stack ?? "", /cell3\.js:2:\d+/);
    assert.equal(c.stateLost, false);
    const d = await runtime.sessions.exec(pid, { ...exec, name: "cell4.js", script: cell(`throw { code: 42 };`) });
    assert.deepEqual(d.error, { name: "Uncaught", message: '{"code":42}', stack: "" });
    assert.equal(runtime.get(pid)?.exitStarted, false);
    runtime.kill(pid);
    await agent.done;
    await assertNothingHeld(runtime, dataDir, pid);
  });
});

Deno.test("session cells: a busy cell over its time loses the state; an awaiting one is interrupted and keeps it", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const agent = await runtime.spawn({ code: "", session: true, limits: { wallMs: 60_000 } });
    const pid = agent.pid;
    await runtime.sessions.exec(pid, { ...exec, name: "c1.js", script: cell(`globalThis.kept = "yes"; return {};`) });
    const waiting = runtime.sessions.exec(pid, {
      ...exec,
      name: "c2.js",
      script: cell(`await new Promise(() => {}); return {};`),
    });
    // The cell is running once exec was sent; interrupt until it takes (the exec is registered synchronously).
    assert.equal(runtime.sessions.interrupt(pid), true);
    const w = await waiting;
    assert.equal(w.interrupted, "interrupt");
    assert.equal(w.stateLost, false);
    assert.equal(w.error?.name, "Interrupted");
    const after = await runtime.sessions.exec(pid, { ...exec, name: "c3.js", script: cell(`return { value: kept };`) });
    assert.equal(after.result, "yes");
    const busy = await runtime.sessions.exec(pid, {
      timeoutMs: 200,
      cpuMs: 10_000,
      name: "c4.js",
      script: cell(`for (;;) {}`),
    });
    assert.equal(busy.interrupted, "timeout");
    assert.equal(busy.stateLost, true);
    assert.equal(busy.error?.name, "TimeoutError");
    const result = await agent.done;
    assert.equal(result.reason, "killed");
    await assertNothingHeld(runtime, dataDir, pid);
  });
});
