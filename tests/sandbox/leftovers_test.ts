/**
 * Nothing is left behind, through real cells: `start` removes what an
 * earlier server left in the data directory (cells' scratch directories,
 * workspaces of agents that are not live) and counts it; `close` during an
 * in-flight spawn releases its workspace, cell and quota slot; and a cell's
 * pipes are closed when it is disposed, so the supervisor's open descriptor
 * count stays flat over many agents (none waits for garbage collection).
 */
import assert from "node:assert/strict";
import { withTimeout } from "../../lib/mod.ts";
import { Runtime } from "../../sandbox/runtime.ts";
import { withRuntime } from "../helpers.ts";

/** Entries of a directory (none if it does not exist). */
async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/** Output of a helper command (reading /proc of this process needs more than the tests' permissions). */
async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Open descriptors of this process, as `ls /proc/<pid>/fd` counts them. */
async function openFds(): Promise<number> {
  return (await run("ls", ["-1", `/proc/${Deno.pid}/fd`])).split("\n").filter((l) => l !== "").length;
}

/** Processes this process started that are still running. */
async function children(): Promise<string[]> {
  return (await run("pgrep", ["-P", String(Deno.pid)])).split("\n").filter((l) => l !== "");
}

Deno.test("leftovers: start removes stale cell scratch and workspace directories and counts them", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-test-" });
  try {
    for (
      const dir of ["cells/0b7e-stale", "cells/1c2d-stale/deps", "workspaces/7-abcd1234/sub", "workspaces/8-ffff0000"]
    ) {
      await Deno.mkdir(`${dataDir}/${dir}`, { recursive: true });
    }
    await Deno.writeTextFile(`${dataDir}/workspaces/7-abcd1234/sub/file.txt`, "left by a crash");
    const runtime = new Runtime({ dataDir, poolSize: 1 });
    await runtime.start();
    try {
      assert.deepEqual(runtime.stats().staleDirsRemoved, { cells: 2, workspaces: 2 });
      assert.deepEqual(await entries(`${dataDir}/workspaces`), []);
      const cells = await entries(`${dataDir}/cells`);
      assert.equal(cells.length, 1, `expected only the warm cell's directory, found ${cells}`);
      assert.ok(!cells.some((name) => name.endsWith("-stale")));
      const r = await runtime.run({ code: "export default () => 1" });
      assert.equal(r.reason, "exit", r.message);
    } finally {
      await runtime.close();
    }
    assert.deepEqual(await entries(`${dataDir}/cells`), [], "close left a cell's scratch directory");
    assert.deepEqual(await entries(`${dataDir}/workspaces`), [], "close left a workspace");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Where a spawn is when the runtime closes. */
const stages = [
  { name: "making its workspace", at: null },
  { name: "waiting for its cold cell", at: "Initializing" },
  { name: "queued for a start slot", at: "queued" },
] as const;

for (const stage of stages) {
  Deno.test(`leftovers: close while a spawn is ${stage.name} releases its workspace, cell and quota`, async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "agentos-test-" });
    const runtime = new Runtime({ dataDir, poolSize: 0, cellStartsMax: 1 });
    await runtime.start();
    try {
      const wanted = stage.at === "queued" ? 3 : 1;
      let seen = 0;
      const initializing = Promise.withResolvers<void>();
      runtime.subscribe((e) => {
        if (e.type === "lifecycle" && e.to === "Initializing" && ++seen === wanted) initializing.resolve();
      });
      const spawn = (i: number) =>
        runtime.spawn({ code: `export default () => ${i}`, files: { "seed.txt": "seeded" } }).then(
          (agent) => agent.done,
          (err: unknown) => err,
        );
      // With the queued stage, the first start holds the only slot and the others wait behind it.
      const spawns = stage.at === "queued" ? [spawn(0), spawn(1), spawn(2)] : [spawn(0)];
      if (stage.at !== null) {
        await withTimeout(initializing.promise, 30_000, () => new Error("the spawns did not reach Initializing"));
        // One turn: the spawn that just became Initializing has asked the pool for its cell.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (stage.at === "queued") assert.equal(runtime.pool.stats().waiting, 2, "the spawns are not queued");
      const closing = runtime.close();
      const results = await withTimeout(Promise.all(spawns), 30_000, () => new Error("a spawn never ended"));
      await withTimeout(closing, 30_000, () => new Error("close did not finish"));
      for (const r of results) {
        if (r instanceof Error) assert.match(r.message, /canceled|shutting down/);
        else assert.equal((r as { reason: string }).reason, "killed");
      }
      assert.deepEqual(await entries(`${dataDir}/workspaces`), [], "a workspace was left on disk");
      assert.deepEqual(await entries(`${dataDir}/cells`), [], "a cell's scratch directory was left on disk");
      assert.deepEqual(await children(), [], "a cell process is still running");
      assert.equal(runtime.tenants.usage("default").agents, 0, "a quota slot is still held");
      assert.deepEqual(runtime.orchestrator.holders(), [], "the orchestrator still holds resources");
      assert.equal(runtime.workspaces.size, 0);
      await assert.rejects(runtime.spawn({ code: "export default () => 1" }), /shutting down/);
    } finally {
      await runtime.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}

Deno.test("leftovers: many sequential agents leave the open descriptor count flat", async () => {
  await withRuntime(async (runtime) => {
    // Descriptors beyond those of the cells the pool holds on purpose (warm ones, and ones kept for the
    // tenant's next agent: 3 pipes each), once every recycle in flight has settled.
    const settle = async () => {
      await runtime.pool.fill();
      const deadline = Date.now() + 20_000;
      for (let last = -1;;) {
        const s = runtime.pool.stats();
        const seen = s.recycledKept + Object.values(s.recycleRefused).reduce((a, n) => a + (n ?? 0), 0);
        if (seen === last) break;
        last = seen;
        assert.ok(Date.now() < deadline, "recycles never settled");
        await new Promise((r) => setTimeout(r, 100));
      }
      const s = runtime.pool.stats();
      return await openFds() - 3 * (s.warm + s.recycled);
    };
    assert.equal((await runtime.run({ code: "export default () => 0" })).reason, "exit");
    const before = await settle();
    // As many as run in ~40 s here, up to 1,000 (a cell start costs ~150 ms of CPU).
    const budgetMs = 40_000;
    const startedAt = performance.now();
    let agents = 0;
    while (agents < 1000 && performance.now() - startedAt < budgetMs) {
      const r = await runtime.run({ code: "export default () => 1" });
      assert.equal(r.reason, "exit", r.message);
      agents++;
    }
    const after = await settle();
    assert.ok(agents >= 20, `only ${agents} agents ran`);
    // A descriptor held per agent until garbage collection grows this with the agent count.
    assert.ok(
      after - before <= 4,
      `${after - before} more open descriptors after ${agents} agents (${before} → ${after})`,
    );
  }, { poolSize: 2 });
});
