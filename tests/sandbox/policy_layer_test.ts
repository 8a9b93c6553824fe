/**
 * Cache poisoning: a cached allow must never skip the use-time path check.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";

Deno.test("policy cache: swapping a directory for a symlink after a cached allow is still refused", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const outside = `${dataDir}/outside`;
    await Deno.mkdir(outside);
    await Deno.writeTextFile(`${outside}/f.txt`, "SECRET");
    const agent = await runtime.spawn({
      code: `export default async () => {
        const seen = [];
        for (let i = 0; i < 300; i++) {
          try { seen.push(await sys.fs.readText("dir/f.txt")); }
          catch (e) { seen.push(e.code); break; }
          await new Promise((r) => setTimeout(r, 10));
        }
        return seen;
      }`,
      files: { "dir/f.txt": "inside" },
      capabilities: ["fs.read"],
    });
    await new Promise((r) => setTimeout(r, 250));
    const hitsBefore = runtime.policy.cache.stats().hits;
    assert.ok(hitsBefore > 0, "the allow was cached");
    const root = runtime.workspaces.root(agent.pid);
    await Deno.rename(`${root}/dir`, `${root}/dir_old`);
    await Deno.symlink(outside, `${root}/dir`);
    const result = await agent.done;
    const seen = result.result as string[];
    assert.ok(!seen.includes("SECRET"), JSON.stringify(seen));
    assert.equal(seen.at(-1), "EACCES");
    assert.ok(seen.filter((x) => x === "inside").length >= 2);
  });
});
