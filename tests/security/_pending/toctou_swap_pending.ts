/**
 * PENDING (fails today): TOCTOU swap race. The host swaps a workspace
 * directory for a symlink to outside in a tight loop while the agent reads
 * and writes through it. Safe outcome: the canary is never returned and
 * nothing outside the workspace is created or changed.
 *
 * Run: deno test -A tests/security/_pending/toctou_swap_pending.ts
 *
 * Cause: `verifyOpened` (sandbox/path/confine.ts) re-resolves the *path*
 * (`realPath`, then `lstat`) after the open; both are separate path walks,
 * so `realPath` can see the real directory and `lstat` (which follows
 * intermediate symlinks) the swapped-in symlink — the outside inode then
 * matches the handle. Writes open with `create: true` before verification,
 * so even a refused write creates a file outside.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../../helpers.ts";
import { canaryText, snapshotTree } from "../helpers.ts";

async function race(mode: "read" | "write"): Promise<void> {
  await withRuntime(async (runtime, dataDir) => {
    await Deno.mkdir(`${dataDir}/outside`);
    await Deno.writeTextFile(`${dataDir}/outside/f.txt`, canaryText);
    const snapshot = () => snapshotTree(dataDir, ["workspaces", "cells"]);
    const before = await snapshot();
    const op = mode === "read"
      ? `try { v = await sys.fs.readText("dir/f.txt"); } catch (e) { v = e.code; }`
      : `try { await sys.fs.writeText("dir/w" + (i % 4) + ".txt", "agent"); v = "wrote"; } catch (e) { v = e.code; }`;
    const agent = await runtime.spawn({
      code: `export default async () => {
        const seen = {};
        for (let i = 0; i < 100000; i++) {
          let v;
          ${op}
          seen[v] = (seen[v] ?? 0) + 1;
          try { await sys.fs.stat("stop"); break; } catch { /* keep going */ }
        }
        return seen;
      }`,
      files: { "dir/f.txt": "inside" },
      capabilities: ["fs.read", "fs.write"],
    });
    const root = runtime.workspaces.root(agent.pid);
    let swaps = 0;
    const deadline = performance.now() + 2500;
    while (performance.now() < deadline) {
      await Deno.rename(`${root}/dir`, `${root}/dir_real`);
      await Deno.symlink(`${dataDir}/outside`, `${root}/dir`);
      await Deno.remove(`${root}/dir`);
      await Deno.rename(`${root}/dir_real`, `${root}/dir`);
      swaps++;
    }
    await Deno.writeTextFile(`${root}/stop`, "");
    const r = await agent.done;
    console.log(`TOCTOU ${mode}: ${swaps} swaps, agent saw ${JSON.stringify(r.result)}`);
    assert.equal(r.reason, "exit", r.message);
    assert.ok(!JSON.stringify(r.result).includes(canaryText), "canary content returned to the agent");
    assert.deepEqual(await snapshot(), before, "the agent created or changed files outside its workspace");
  });
}

Deno.test("security fs (pending): TOCTOU swap race — reads never return the canary", () => race("read"));
Deno.test("security fs (pending): TOCTOU swap race — writes never create files outside", () => race("write"));
