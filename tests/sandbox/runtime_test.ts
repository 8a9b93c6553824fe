/**
 * Real cells: every exit path, every hostile guest, and zero resources after
 * each one, while a well-behaved agent runs beside them.
 */
import assert from "node:assert/strict";
import { assertNothingHeld, guest, withRuntime } from "../helpers.ts";

Deno.test("runtime: a normal agent returns its result and output, and leaves nothing", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const r = await runtime.run({
      code: `export default async () => { console.log("hi", 1); console.error("warn"); return { n: 42 }; }`,
    });
    assert.equal(r.reason, "exit");
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.result, { n: 42 });
    assert.equal(r.stdout, "hi 1\n");
    assert.equal(r.stderr, "warn\n");
    assert.ok(r.usage.syscalls >= 2);
    assert.equal(r.cleanup.errors, 0);
    assert.deepEqual(Object.keys(r.cleanup.types).sort(), ["cell", "ipc", "memory", "timer", "workspace"]);
    await assertNothingHeld(runtime, dataDir, r.pid);
  });
});

Deno.test("runtime: every fs call works through the SDK", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const r = await runtime.run({ code: guest("fs_tour.js"), capabilities: ["fs.read", "fs.write"] });
    assert.equal(r.reason, "exit", r.message);
    const v = r.result as Record<string, unknown>;
    assert.equal(v.text, "alpha+beta");
    assert.deepEqual(v.bytes, [0, 1, 2, 255]);
    assert.equal((v.stat as { kind: string; size: number }).kind, "file");
    assert.equal((v.stat as { size: number }).size, 10);
    assert.deepEqual(v.list, [{ name: "a.txt", kind: "file" }, { name: "b.bin", kind: "file" }, {
      name: "e",
      kind: "dir",
    }]);
    assert.equal(v.missing, "ENOENT");
    assert.equal(v.notEmpty, "ENOTEMPTY");
    assert.deepEqual(v.after, []);
    await assertNothingHeld(runtime, dataDir, r.pid);
  });
});

Deno.test("runtime: without capabilities fs calls are EACCES; seeded files are readable", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => { try { await sys.fs.readText("in.txt"); } catch (e) { return e.code; } }`,
      files: { "in.txt": "seed" },
    });
    assert.equal(r.result, "EACCES");
    assert.equal(r.usage.denials, 1);
    const s = await runtime.run({
      code: `export default () => sys.fs.readText("dir/in.txt")`,
      files: { "dir/in.txt": "seed" },
      capabilities: ["fs.read"],
    });
    assert.equal(s.result, "seed");
  });
});

Deno.test("runtime: the path-traversal family is EACCES through real cells", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const r = await runtime.run({ code: guest("path_traversal.js"), capabilities: ["fs.read", "fs.write"] });
    assert.equal(r.reason, "exit", r.message);
    for (const [path, code] of Object.entries(r.result as Record<string, string>)) {
      assert.equal(code, "EACCES", path);
    }
    await assertNothingHeld(runtime, dataDir, r.pid);
  });
});

Deno.test("runtime: the disk quota answers ENOSPC", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        await sys.fs.writeText("a", "x".repeat(600));
        try { await sys.fs.writeText("b", "x".repeat(600)); } catch (e) { return e.code; }
      }`,
      capabilities: ["fs.write"],
      limits: { diskBytes: 1000 },
    });
    assert.equal(r.result, "ENOSPC");
  });
});

Deno.test("runtime: the outer boundary refuses every host API", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({ code: guest("outer_boundary.js") });
    assert.equal(r.reason, "exit", r.message);
    const results = r.result as Record<string, string>;
    assert.equal(Object.keys(results).length, 14);
    for (const [name, outcome] of Object.entries(results)) assert.notEqual(outcome, "allowed", name);
    // Deno's file APIs and fetch are syscalls now: refused by the kernel (an absolute host path; no capability).
    assert.equal(results.readTextFile, "PermissionDenied");
    assert.equal(results.writeTextFile, "PermissionDenied");
    assert.equal(results.fetch, "TypeError");
    assert.equal(results.command, "NotCapable");
    assert.equal(results.env, "NotCapable");
  });
});

Deno.test("runtime: bad frames get errnos and the channel keeps working", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({ code: guest("bad_frames.js") });
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, {
      extraKey: "EINVAL",
      unknownCall: "ENOSYS",
      oversize: "E2BIG",
      protoKey: "EINVAL",
      constructorKey: "EINVAL",
      batchOk: "ok",
      batchBad: "EINVAL",
      stillWorks: true,
      polluted: false,
    });
  });
});

Deno.test("runtime: batched submission answers every call", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        const calls = Array.from({ length: 1000 }, (_, i) => i % 2 ? { call: "time.now" } : { call: "nope" });
        const out = await sys.batch(calls);
        return [out.filter((o) => o.ok).length, out.filter((o) => !o.ok && o.error.code === "ENOSYS").length];
      }`,
    });
    assert.deepEqual(r.result, [500, 500]);
  });
});

const limitCases: { name: string; file: string; limits: Record<string, number>; reasons: string[] }[] = [
  { name: "busy loop", file: "busy_loop.js", limits: { cpuMs: 300, wallMs: 10_000 }, reasons: ["cpu"] },
  { name: "busy loop (wall)", file: "busy_loop.js", limits: { cpuMs: 60_000, wallMs: 400 }, reasons: ["timeout"] },
  { name: "microtask flood", file: "microtask_flood.js", limits: { cpuMs: 300, wallMs: 10_000 }, reasons: ["cpu"] },
  { name: "heap bomb", file: "heap_bomb.js", limits: { memoryMb: 64 }, reasons: ["memory"] },
  { name: "off-heap bomb", file: "arraybuffer_bomb.js", limits: { memoryMb: 64 }, reasons: ["memory"] },
  { name: "output flood", file: "output_flood.js", limits: { outputBytes: 64 * 1024 }, reasons: ["output"] },
  { name: "sleeper (wall)", file: "sleeper.js", limits: { wallMs: 300 }, reasons: ["timeout"] },
  { name: "throws", file: "throws.js", limits: {}, reasons: ["error"] },
  { name: "exit code", file: "exit_code.js", limits: {}, reasons: ["exit"] },
];

for (const c of limitCases) {
  Deno.test(`runtime: ${c.name} ends with ${c.reasons.join("/")}, others unaffected, nothing held`, async () => {
    await withRuntime(async (runtime, dataDir) => {
      const bystander = runtime.run({
        code:
          `export default async () => { let n = 0; for (let i = 0; i < 50; i++) n += (await sys.time.now()) > 0 ? 1 : 0; return n; }`,
      });
      const r = await runtime.run({ code: guest(c.file), limits: c.limits });
      assert.ok(c.reasons.includes(r.reason), `${c.name}: got ${r.reason} (${r.message})`);
      assert.notEqual(r.exitCode === 0, true);
      const b = await bystander;
      assert.equal(b.reason, "exit");
      assert.equal(b.result, 50);
      await assertNothingHeld(runtime, dataDir, r.pid);
      if (c.name === "throws") assert.match(r.message ?? "", /agent blew up on purpose/);
      if (c.name === "exit code") {
        assert.equal(r.exitCode, 7);
        assert.equal(r.stdout, "leaving\n");
      }
      if (c.name === "output flood") assert.ok(r.stdout.length <= 64 * 1024);
    });
  });
}

Deno.test("runtime: kill ends an agent with reason killed; a crashed cell is crash", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const a = await runtime.spawn({ code: guest("sleeper.js") });
    assert.ok(runtime.kill(a.pid));
    const ra = await a.done;
    assert.equal(ra.reason, "killed");
    assert.equal(ra.exitCode, 137);
    await assertNothingHeld(runtime, dataDir, ra.pid);

    const b = await runtime.spawn({ code: guest("sleeper.js") });
    b.cell!.kill("SIGKILL");
    const rb = await b.done;
    assert.equal(rb.reason, "crash");
    await assertNothingHeld(runtime, dataDir, rb.pid);
    // The server side keeps serving after a crash.
    assert.equal((await runtime.run({ code: "export default () => 1" })).result, 1);
  });
});

Deno.test("runtime: TypeScript agents run", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `const n: number = 2; export default (): number => n * 21;`,
      lang: "ts",
    });
    assert.equal(r.result, 42, r.message);
  });
});

Deno.test("runtime: bad limits and oversized code are refused up front", async () => {
  await withRuntime(async (runtime) => {
    await assert.rejects(() => runtime.spawn({ code: "", limits: { heapMb: 1 } }), { code: "EINVAL" });
    await assert.rejects(() => runtime.spawn({ code: "x".repeat(2 * 1024 * 1024) }), { code: "E2BIG" });
    assert.equal(runtime.table.size, 0);
  });
});

Deno.test("runtime: a beforeRun that throws stops the agent before any of its code runs and releases everything first", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const states: string[] = [];
    const unsubscribe = runtime.subscribe((e) => {
      if (e.type === "lifecycle") states.push(e.to);
    });
    const refusal = new Error("record refused");
    let pid = 0;
    let cellOsPid: number | undefined;
    try {
      await assert.rejects(
        runtime.spawn({
          code: `export default () => { console.log("ran"); }`,
          files: { "seed.txt": "seeded" },
          tenant: "t",
          beforeRun: (agent) => {
            pid = agent.pid;
            cellOsPid = agent.cell?.osPid;
            throw refusal;
          },
        }),
        (err) => err === refusal,
      );
    } finally {
      unsubscribe();
    }
    assert.ok(cellOsPid !== undefined, "beforeRun sees the agent with its cell");
    assert.ok(!states.includes("Running"), `never Running: ${states}`);
    // Rejected only once everything is released: nothing to wait for.
    await assertNothingHeld(runtime, dataDir, pid);
    assert.equal(runtime.tenants.usage("t").agents, 0);
    assert.equal(runtime.stats().agents, 0);
    assert.equal(await Deno.stat(`/proc/${cellOsPid}`).then(() => true, () => false), false, "cell process gone");
  });
});
