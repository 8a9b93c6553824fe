/**
 * File-system escapes through real cells: traversal spellings, symlinks,
 * hard links, /proc, a TOCTOU swap race and cache poisoning under a tenant
 * policy. Every test plants a canary outside the workspace, asserts it is
 * never returned nor changed, and that a bystander agent is unaffected.
 */
import assert from "node:assert/strict";
import { assertNothingHeld, withRuntime } from "../helpers.ts";
import {
  assertBystanderOk,
  assertRuntimeServes,
  attemptHarness,
  canaryText,
  type Outcome,
  snapshotTree,
  startBystander,
  until,
} from "./helpers.ts";
import type { Runtime } from "../../sandbox/runtime.ts";

const rw = ["fs.read", "fs.write"] as const;

/** Plant `<dataDir>/outside/canary.txt` and return a snapshot function of everything outside the workspaces. */
async function plantCanary(dataDir: string): Promise<() => Promise<Record<string, string>>> {
  await Deno.mkdir(`${dataDir}/outside`);
  await Deno.writeTextFile(`${dataDir}/outside/canary.txt`, canaryText);
  await Deno.writeTextFile(`${dataDir}/canary.txt`, canaryText);
  return () => snapshotTree(dataDir, ["workspaces", "cells"]);
}

function assertNoCanary(results: unknown): void {
  const text = JSON.stringify(results);
  assert.ok(!text.includes(canaryText), `canary leaked: ${text.slice(0, 400)}`);
  assert.ok(!text.includes("CANARY"), `canary leaked: ${text.slice(0, 400)}`);
}

/** Guest code that waits for the host to write `go`, then runs `body` (which fills `out`). */
function afterGo(body: string): string {
  return `export default async () => {
    ${attemptHarness}
    for (let i = 0; i < 2000; i++) {
      try { await sys.fs.stat("go"); break; } catch { await new Promise((r) => setTimeout(r, 5)); }
    }
    ${body}
    return out;
  }`;
}

async function spawnWaiting(runtime: Runtime, body: string, files: Record<string, string> = {}) {
  const agent = await runtime.spawn({ code: afterGo(body), capabilities: [...rw], files });
  return { agent, root: runtime.workspaces.root(agent.pid) };
}

Deno.test("security fs: traversal spellings are EACCES or harmless in-workspace names", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const snapshot = await plantCanary(dataDir);
    const before = await snapshot();
    const bystander = startBystander(runtime);
    const reads = [
      "../canary.txt",
      "../../canary.txt",
      "../../outside/canary.txt",
      "a/../../../canary.txt",
      "./../../../canary.txt",
      "a/b/../../../../outside/canary.txt",
      `${dataDir}/canary.txt`,
      `/${dataDir}/outside/canary.txt`,
      "//etc/passwd",
      "\\..\\..\\canary.txt",
      "..\\..\\canary.txt",
      "C:/canary.txt",
      "ok\u0000/../../../canary.txt",
      "..%2f..%2fcanary.txt",
      "%2e%2e/%2e%2e/canary.txt",
      "%252e%252e/%252e%252e/canary.txt",
      "\u2025/\u2025/canary.txt",
      "\uff0e\uff0e/\uff0e\uff0e/canary.txt",
      "\u2024\u2024/\u2024\u2024/outside/canary.txt",
      ".\u200b./.\u200b./canary.txt",
      "..\u2215..\u2215canary.txt",
      "...//.../canary.txt",
      "x/".repeat(3000) + "canary.txt",
      "a".repeat(5000),
      "../".repeat(70) + "canary.txt",
      "a/".repeat(65) + "b",
      "",
      ".",
    ];
    const { agent, root } = await spawnWaiting(
      runtime,
      `const reads = ${JSON.stringify(reads)};
      for (const p of reads) {
        await attempt("read " + p.slice(0, 60), () => sys.fs.readText(p));
        await attempt("stat " + p.slice(0, 60), async () => JSON.stringify(await sys.fs.stat(p)));
      }
      for (const p of reads) await attempt("write " + p.slice(0, 60), () => sys.fs.writeText(p, "pwned"));
      await attempt("rename-out", () => sys.fs.rename("mine.txt", "../../outside/moved.txt"));
      await attempt("rename-in", () => sys.fs.rename("../../outside/canary.txt", "stolen.txt"));
      await attempt("remove-out", () => sys.fs.remove("../../outside", { recursive: true }));
      await attempt("mkdir-out", () => sys.fs.mkdir("../../outside/newdir", { recursive: true }));
      await attempt("list", async () => JSON.stringify(await sys.fs.readDir(".")));`,
      { "mine.txt": "mine" },
    );
    await Deno.writeTextFile(`${root}/go`, "");
    const r = await agent.done;
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as Record<string, Outcome>;
    assertNoCanary(out);
    for (const [name, o] of Object.entries(out)) {
      if (name === "list") continue;
      if (o.ok) {
        // Only harmless names: a literal look-alike file created inside the workspace.
        assert.ok(name.startsWith("write ") || name.startsWith("stat "), `${name} succeeded: ${JSON.stringify(o)}`);
      } else {
        assert.ok(["EACCES", "ENOENT", "EINVAL", "EISDIR"].includes(o.code), `${name}: ${o.code}`);
      }
    }
    for (const name of ["read ../canary.txt", "read ../../outside/canary.txt", `read ${dataDir}/canary.txt`]) {
      assert.equal((out[name.slice(0, 65)] as { code: string }).code, "EACCES", name);
    }
    assert.equal((out["read ok\u0000/../../../canary.txt"] as { code: string }).code, "EACCES");
    assert.equal((out["write ../../canary.txt"] as { code: string }).code, "EACCES");
    assert.equal((out["rename-out"] as { code: string }).code, "EACCES");
    assert.equal((out["rename-in"] as { code: string }).code, "EACCES");
    assert.equal((out["remove-out"] as { code: string }).code, "EACCES");
    assert.deepEqual(await snapshot(), before, "something outside the workspace changed");
    await assertNothingHeld(runtime, dataDir, r.pid);
    await assertBystanderOk(bystander);
    await assertRuntimeServes(runtime);
  });
});

Deno.test("security fs: host-planted symlinks (absolute, relative-after-rename, dangling) and hard links are EACCES", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const snapshot = await plantCanary(dataDir);
    await Deno.writeTextFile(`${dataDir}/x.txt`, canaryText);
    const before = await snapshot();
    const bystander = startBystander(runtime);
    const { agent, root } = await spawnWaiting(
      runtime,
      `for (const p of ["abs", "dir/canary.txt", "c/rel", "a/b/rel2", "hl", "proc/environ", "proc/cmdline", "dirlink"]) {
        await attempt("read " + p, () => sys.fs.readText(p));
        await attempt("bytes " + p, async () => (await sys.fs.readBytes(p)).length);
      }
      await attempt("stat abs", async () => JSON.stringify(await sys.fs.stat("abs")));
      await attempt("list dir", async () => JSON.stringify(await sys.fs.readDir("dir")));
      await attempt("list dirlink", async () => JSON.stringify(await sys.fs.readDir("dirlink")));
      await attempt("write dir/new.txt", () => sys.fs.writeText("dir/new.txt", "pwned"));
      await attempt("write dangling", () => sys.fs.writeText("dangling", "pwned"));
      await attempt("write dangling-rel", () => sys.fs.writeText("dangling-rel", "pwned"));
      await attempt("append abs", () => sys.fs.append("abs", "pwned"));
      await attempt("write hl", () => sys.fs.writeText("hl", "pwned"));
      await attempt("append hl", () => sys.fs.append("hl", "pwned"));
      await attempt("mkdir via link", () => sys.fs.mkdir("dir/sub", { recursive: true }));
      await attempt("rename onto link", () => sys.fs.rename("in.txt", "dir/moved.txt"));
      await attempt("remove through link", () => sys.fs.remove("dir/canary.txt"));
      await attempt("read proc abs", () => sys.fs.readText("/proc/self/environ"));
      await attempt("read proc maps", () => sys.fs.readText("/proc/self/maps"));
      await attempt("read proc root", () => sys.fs.readText("/proc/self/root/etc/hostname"));
      await attempt("read in", () => sys.fs.readText("in.txt"));`,
      { "in.txt": "inside", "a/b/c/.keep": "" },
    );
    // Absolute symlinks out, a directory link out, a relative link that is inside until the host renames it,
    // dangling links pointing out, a hard link to the canary, links into /proc.
    await Deno.symlink(`${dataDir}/outside/canary.txt`, `${root}/abs`);
    await Deno.symlink(`${dataDir}/outside`, `${root}/dir`);
    await Deno.symlink(`${dataDir}/outside`, `${root}/dirlink`);
    await Deno.writeTextFile(`${root}/x.txt`, "inside-x");
    await Deno.symlink("../../../x.txt", `${root}/a/b/c/rel`);
    assert.equal(await Deno.readTextFile(`${root}/a/b/c/rel`), "inside-x");
    await Deno.rename(`${root}/a/b/c`, `${root}/c`); // now c/rel → <root>/../../x.txt = <dataDir>/x.txt
    assert.equal(await Deno.readTextFile(`${root}/c/rel`), canaryText);
    await Deno.symlink("../../../../canary.txt", `${root}/a/b/rel2`);
    await Deno.symlink(`${dataDir}/outside/created-by-agent.txt`, `${root}/dangling`);
    await Deno.symlink("../../outside/created-rel.txt", `${root}/dangling-rel`);
    await Deno.link(`${dataDir}/outside/canary.txt`, `${root}/hl`);
    await Deno.symlink("/proc/self", `${root}/proc`);
    await Deno.writeTextFile(`${root}/go`, "");
    const r = await agent.done;
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as Record<string, Outcome>;
    assertNoCanary(out);
    for (const [name, o] of Object.entries(out)) {
      if (name === "read in") {
        assert.deepEqual(o, { ok: true, value: "inside" });
        continue;
      }
      assert.equal(o.ok, false, `${name} succeeded: ${JSON.stringify(o)}`);
      assert.equal((o as { code: string }).code, "EACCES", `${name}: ${JSON.stringify(o)}`);
    }
    // The hard link shares the canary inode: remove it host-side before comparing.
    await Deno.remove(`${dataDir}/x.txt`);
    const after = await snapshot();
    delete before["x.txt"];
    assert.deepEqual(after, before, "something outside the workspace changed");
    await assertNothingHeld(runtime, dataDir, r.pid);
    assert.equal(await Deno.readTextFile(`${dataDir}/outside/canary.txt`), canaryText);
    await assertBystanderOk(bystander);
  });
});

Deno.test("security fs: cache poisoning under a tenant policy allowing only data/** — swap to a symlink is EACCES", async () => {
  await withRuntime(async (runtime, dataDir) => {
    await plantCanary(dataDir);
    await Deno.writeTextFile(`${dataDir}/outside/f.txt`, canaryText);
    runtime.policy.setTenant("data-only", {
      version: 1,
      rules: [
        { id: "data", effect: "allow", calls: ["fs.*"], paths: ["data/**"] },
        { id: "sdk", effect: "allow", calls: ["io.write", "time.now", "proc.info"] },
      ],
    });
    const bystander = startBystander(runtime, "data-only");
    const agent = await runtime.spawn({
      tenant: "data-only",
      code: `export default async () => {
        const seen = [];
        let other;
        try { other = await sys.fs.readText("other.txt"); } catch (e) { other = e.code; }
        for (let i = 0; i < 400; i++) {
          try { seen.push(await sys.fs.readText("data/f.txt")); }
          catch (e) { seen.push(e.code); if (e.code !== "ENOENT") break; }
          await new Promise((r) => setTimeout(r, 5));
        }
        return { other, seen };
      }`,
      files: { "data/f.txt": "inside", "other.txt": "other" },
      capabilities: ["fs.read"],
    });
    const root = runtime.workspaces.root(agent.pid);
    let reads = 0;
    const unsubscribe = runtime.subscribe((e) => {
      if (e.type === "syscall" && e.pid === agent.pid && e.call === "fs.readText" && e.errno === null) reads++;
    });
    await until(() => reads >= 3);
    unsubscribe();
    assert.ok(runtime.policy.cache.stats().hits > 0, "the allow was cached");
    await Deno.rename(`${root}/data`, `${root}/data_old`);
    await Deno.symlink(`${dataDir}/outside`, `${root}/data`);
    const r = await agent.done;
    const { other, seen } = r.result as { other: string; seen: string[] };
    assert.equal(other, "EPERM");
    assertNoCanary(seen);
    assert.equal(seen.at(-1), "EACCES", JSON.stringify(seen));
    assert.ok(seen.filter((x) => x === "inside").length >= 2);
    await assertBystanderOk(bystander);
    await assertNothingHeld(runtime, dataDir, r.pid);
  });
});
