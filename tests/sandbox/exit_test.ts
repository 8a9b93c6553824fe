/**
 * How an agent ends, decided once by its supervisor from what the cell
 * measured: every line written before the exit is delivered in order; past
 * `outputBytes` the agent ends with `output` and its usage says what was
 * kept and dropped; a rejection left behind is an `error`; `TERM` exits 143;
 * `cpuMs` is the agent's, not the cell's boot. Regression tests of the
 * kernel-redesign issue (each failed before its fix).
 */
import assert from "node:assert/strict";
import { exitCodeTerm } from "../../sandbox/runtime.ts";
import { withRuntime } from "../helpers.ts";

const cli = new URL("../../cli/main.ts", import.meta.url).pathname;

Deno.test("exit: every line written just before the exit is delivered, in order (through the CLI)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-exit-" });
  try {
    const file = `${dir}/three.js`;
    await Deno.writeTextFile(file, `console.log("one"); console.log("two"); console.log("three");\n`);
    for (let i = 0; i < 4; i++) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "run", file, "--data-dir", `${dir}/data`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout), "one\ntwo\nthree\n", `run ${i}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exit: thousands of lines before the exit all arrive, none ECANCELED", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      limits: { outputBytes: 8 * 1024 * 1024 },
      code: `export default () => { for (let i = 0; i < 8000; i++) console.log("line " + i); }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 8000);
    assert.equal(lines[7999], "line 7999");
    assert.equal(r.usage.errors, 0);
    assert.equal(r.usage.syscalls, 8000);
  });
});

Deno.test("exit: past outputBytes the agent ends with output, and its usage says what was kept and dropped", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default () => { for (let i = 0; i < 200000; i++) console.log("line " + i); }`,
    });
    assert.equal(r.reason, "output", r.message);
    const u = r.usage as typeof r.usage & { outputKept: number; outputDropped: number };
    assert.ok(u.outputBytes > 1024 * 1024, `outputBytes ${u.outputBytes}`);
    assert.equal(u.outputKept, r.stdout.length);
    assert.equal(u.outputKept + u.outputDropped, u.outputBytes);
    assert.ok(u.outputDropped > 0);
  });
});

Deno.test("exit: a promise left rejected, or a timer that throws right after, ends the agent with error", async () => {
  await withRuntime(async (runtime) => {
    const rejected = await runtime.run({
      code: `export default () => { Promise.reject(new Error("boom")); return 1; }`,
    });
    assert.equal(rejected.reason, "error");
    assert.match(rejected.message ?? "", /boom/);
    assert.notEqual(rejected.exitCode, 0);
    const late = await runtime.run({
      code: `export default () => { setTimeout(() => { throw new Error("late"); }, 0); return 1; }`,
    });
    assert.equal(late.reason, "error");
    assert.match(late.message ?? "", /late/);
  });
});

Deno.test("exit: an agent that leaves on TERM exits 143; KILL stays 137", async () => {
  await withRuntime(async (runtime) => {
    const a = await runtime.spawn({ code: "export default () => new Promise(() => {})" });
    await new Promise((r) => setTimeout(r, 100));
    runtime.signal(a.pid, "TERM");
    const r = await a.done;
    assert.deepEqual([r.reason, r.exitCode], ["killed", exitCodeTerm]);
    assert.equal(exitCodeTerm, 143);
    const b = await runtime.spawn({ code: "export default () => new Promise(() => {})" });
    runtime.signal(b.pid, "KILL");
    assert.deepEqual([(await b.done).reason, (await b.done).exitCode], ["killed", 137]);
  });
});

Deno.test("exit: cpuMs counts the agent from its start, not the cell's boot", async () => {
  await withRuntime(async (runtime) => {
    // A cold cell (its own heap cap) burns ~100-300 ms of CPU booting; a trivial agent must not be charged for it.
    const r = await runtime.run({ code: "export default () => 1", limits: { heapMb: 96 } });
    assert.equal(r.reason, "exit", r.message);
    assert.ok(r.usage.cpuMs < 100, `a trivial agent was charged ${r.usage.cpuMs} ms of CPU`);
  }, { poolSize: 0 });
});

Deno.test("exit: the agent's timers behave as usual (arguments, clearTimeout, string delay, handle type) around the exit check", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        const got = await new Promise((resolve) => setTimeout((a, b) => resolve(a + b), 0, 2, 3));
        const cleared = setTimeout(() => { throw new Error("cleared timer ran"); }, 0);
        clearTimeout(cleared);
        const later = await new Promise((resolve) => setTimeout(() => resolve("later"), "5"));
        const zero = setTimeout(() => {}, 0), one = setTimeout(() => {}, 1);
        return [got, later, typeof zero === typeof one];
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, [5, "later", true]);
  });
});
