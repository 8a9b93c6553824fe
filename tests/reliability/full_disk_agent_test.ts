/**
 * A full disk inside an agent, on a real tmpfs that is the runtime's data
 * dir (so the workspaces are on it): every write that hits the full disk is
 * `ENOSPC` saying the server's disk is full (not the quota), the previous
 * content of the file is intact, no temporary file is left, and the quota
 * stays exactly what is on disk; once space returns, the same writes work.
 */
import assert from "node:assert/strict";
import { directoryBytes } from "../../kernel/limits.ts";
import { Runtime } from "../../sandbox/runtime.ts";
import { entries, fillDisk, until, withTmpfs } from "./helpers.ts";

/** Guest: phase 1 (after `go`) hits the full disk; phase 2 (after `go2`) writes again with space back. */
const guest = `export default async () => {
  const wait = async (name) => {
    for (;;) { try { await sys.fs.stat(name); return; } catch { await new Promise((r) => setTimeout(r, 5)); } }
  };
  const attempt = async (fn) => { try { await fn(); return "ok"; } catch (e) { return e.code + ": " + e.message; } };
  const big = "x".repeat(1024 * 1024);
  // What is on disk as the quota counts it: contents plus one directory charge per directory below the root.
  const onDisk = async () => {
    let bytes = 0, dirs = 0;
    const names = [];
    const walk = async (dir) => {
      for (const e of await sys.fs.readDir(dir)) {
        const path = dir === "." ? e.name : dir + "/" + e.name;
        names.push(path);
        if (e.kind === "dir") { dirs++; await walk(path); }
        else bytes += (await sys.fs.stat(path)).size;
      }
    };
    await walk(".");
    return { names: names.sort(), bytes, dirs, usage: (await sys.info()).usage.diskBytes };
  };
  await wait("go");
  const full = {
    replace: await attempt(() => sys.fs.writeText("keep.txt", big)),
    replaceBytes: await attempt(() => sys.fs.writeBytes("sub/data.bin", new Uint8Array(1024 * 1024).fill(1))),
    append: await attempt(() => sys.fs.append("log.txt", big)),
    create: await attempt(() => sys.fs.writeText("new.txt", big)),
    keep: await sys.fs.readText("keep.txt"),
    data: Array.from(await sys.fs.readBytes("sub/data.bin")),
    log: await sys.fs.readText("log.txt"),
    disk: await onDisk(),
  };
  console.log("phase1 done");
  await wait("go2");
  const back = {
    replace: await attempt(() => sys.fs.writeText("keep.txt", "replaced")),
    append: await attempt(() => sys.fs.append("log.txt", "line2\\n")),
    create: await attempt(() => sys.fs.writeText("new.txt", big)),
    keep: await sys.fs.readText("keep.txt"),
    log: await sys.fs.readText("log.txt"),
    disk: await onDisk(),
  };
  return { full, back };
}`;

interface Disk {
  names: string[];
  bytes: number;
  dirs: number;
  usage: number;
}

Deno.test("reliability: a write that hits a full disk is ENOSPC and leaves the file as it was (real tmpfs)", async () => {
  await withTmpfs(8, async (dataDir) => {
    const runtime = new Runtime({ dataDir, poolSize: 1 });
    await runtime.start();
    try {
      const agent = await runtime.spawn({
        code: guest,
        capabilities: ["fs.read", "fs.write"],
        files: { "keep.txt": "original", "log.txt": "line1\n", "sub/data.bin": "abc" },
        limits: { wallMs: 60_000, diskBytes: 16 * 1024 * 1024 },
      });
      const root = runtime.workspaces.root(agent.pid);
      let phase1 = false;
      const unsubscribe = runtime.subscribe((e) => {
        if (e.type === "output" && e.pid === agent.pid && e.data.includes("phase1 done")) phase1 = true;
      });
      const filler = await fillDisk(dataDir);
      // An empty file takes an inode, no block: the go-ahead fits on the full disk.
      await Deno.writeTextFile(`${root}/go`, "");
      await until("the agent to finish its writes on the full disk", () => phase1, 30_000);
      unsubscribe();
      assert.deepEqual(entries(root).filter((n) => n.startsWith(".")), [], "a temporary file was left in the root");
      await Deno.remove(filler);
      await Deno.writeTextFile(`${root}/go2`, "");
      const r = await agent.done;
      assert.equal(r.reason, "exit", r.message);
      const { full, back } = r.result as Record<string, Record<string, unknown>>;
      for (const call of ["replace", "replaceBytes", "append", "create"]) {
        assert.match(String(full[call]), /^ENOSPC: .*disk is full/, `${call} on the full disk: ${full[call]}`);
        assert.doesNotMatch(String(full[call]), /quota/i, `${call}: a full disk is not the agent's quota`);
      }
      assert.equal(full.keep, "original", "the replaced file lost its content");
      assert.deepEqual(full.data, [97, 98, 99], "the replaced binary file lost its content");
      assert.equal(full.log, "line1\n", "the failed append was not cut back");
      const fullDisk = full.disk as Disk;
      assert.deepEqual(
        fullDisk.names,
        ["go", "keep.txt", "log.txt", "sub", "sub/data.bin"],
        "a failed write left a file (a temporary one or the new one)",
      );
      // The host's 0-byte go-ahead is on disk but not charged: it has no bytes.
      assert.equal(fullDisk.usage, fullDisk.bytes + fullDisk.dirs * directoryBytes, "usage is not what is on disk");
      assert.deepEqual([back.replace, back.append, back.create], ["ok", "ok", "ok"], "writes fail once space is back");
      assert.equal(back.keep, "replaced");
      assert.equal(back.log, "line1\nline2\n");
      const backDisk = back.disk as Disk;
      assert.deepEqual(backDisk.names, ["go", "go2", "keep.txt", "log.txt", "new.txt", "sub", "sub/data.bin"]);
      assert.equal(backDisk.usage, backDisk.bytes + backDisk.dirs * directoryBytes, "usage drifted from the disk");
    } finally {
      await runtime.close();
    }
  });
});
