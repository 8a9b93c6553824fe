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
        // Until refused (bounded): between the rename and the symlink the file is briefly missing (ENOENT).
        const start = Date.now();
        while (Date.now() - start < 20000) {
          try { seen.push(await sys.fs.readText("dir/f.txt")); }
          catch (e) { seen.push(e.code); if (e.code !== "ENOENT") break; }
          await new Promise((r) => setTimeout(r, 10));
        }
        return seen;
      }`,
      files: { "dir/f.txt": "inside" },
      capabilities: ["fs.read"],
    });
    // The allow is cached once the agent has read twice (bounded wait, not a fixed sleep).
    const deadline = Date.now() + 20_000;
    while (runtime.policy.cache.stats().hits < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(runtime.policy.cache.stats().hits > 0, "the allow was cached");
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
