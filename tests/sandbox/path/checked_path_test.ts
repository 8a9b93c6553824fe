/**
 * The `CheckedPath` value: what the check carries (root, real, relative,
 * what it saw), how `verifyOpened` proves a handle against it, and what one
 * call costs in host metadata calls through the Dispatcher.
 */
import assert from "node:assert/strict";
import { agentLimitsMax } from "../../../kernel/limits.ts";
import { ProcessTable } from "../../../kernel/process/table.ts";
import { Dispatcher } from "../../../kernel/syscall/dispatch.ts";
import { SyscallTable } from "../../../kernel/syscall/table.ts";
import { procAccount, removeChecked, writeChecked } from "../../../sandbox/fs/disk.ts";
import { fsSyscalls } from "../../../sandbox/fs/syscalls.ts";
import { Workspaces } from "../../../sandbox/fs/workspace.ts";
import { confinePath, verifyOpened } from "../../../sandbox/path/confine.ts";
import { PolicyLayer } from "../../../sandbox/policy_layer.ts";

async function workspace(): Promise<{ root: string; outside: string; done: () => Promise<void> }> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "agentos-checked-" }));
  const root = `${base}/ws`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/d`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${root}/d/f.txt`, "inside");
  await Deno.writeTextFile(`${outside}/f.txt`, "outside");
  return { root, outside, done: () => Deno.remove(base, { recursive: true }) };
}

/** Count the host's metadata calls (and opens) until `restore`. */
function countMetadata(): { counts: Record<string, number>; total(): number; restore(): void } {
  const counts: Record<string, number> = {};
  const deno = Deno as unknown as Record<string, (...args: unknown[]) => unknown>;
  const file = Deno.FsFile.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const saved: (() => void)[] = [];
  const wrap = (owner: Record<string, (...args: unknown[]) => unknown>, key: string, label: string) => {
    const original = owner[key];
    owner[key] = function (this: unknown, ...args: unknown[]) {
      counts[label] = (counts[label] ?? 0) + 1;
      return original.apply(this, args);
    };
    saved.push(() => owner[key] = original);
  };
  for (const key of ["realPath", "lstat", "stat", "open"]) wrap(deno, key, key);
  wrap(file, "stat", "fstat");
  return {
    counts,
    total: () => Object.entries(counts).reduce((n, [k, v]) => k === "open" ? n : n + v, 0),
    restore: () => saved.forEach((undo) => undo()),
  };
}

Deno.test("checked path: carries the root, the real path, the relative form and what the check saw", async () => {
  const { root, done } = await workspace();
  try {
    const file = await confinePath(root, "x/../d/./f.txt", "read");
    const info = await Deno.lstat(`${root}/d/f.txt`);
    assert.deepEqual(
      { root: file.root, real: file.real, relative: file.relative },
      { root, real: `${root}/d/f.txt`, relative: "d/f.txt" },
    );
    assert.deepEqual(file.seen, {
      kind: "file",
      size: 6,
      mtimeMs: info.mtime?.getTime() ?? null,
      nlink: 1,
      ino: info.ino,
      dev: info.dev,
    });
    assert.ok(Object.isFrozen(file) && Object.isFrozen(file.seen));
    const top = await confinePath(root, "", "read");
    assert.deepEqual([top.real, top.relative, top.seen?.kind], [root, ".", "dir"]);
    const fresh = await confinePath(root, "d/new/deeper.txt", "write");
    assert.deepEqual([fresh.real, fresh.relative, fresh.seen], [`${root}/d/new/deeper.txt`, "d/new/deeper.txt", null]);
    // A symlink that stays inside: the relative form (what policy globs match) is the target's.
    await Deno.symlink("d", `${root}/alias`);
    const viaLink = await confinePath(root, "alias/f.txt", "read");
    assert.deepEqual([viaLink.real, viaLink.relative, viaLink.seen?.ino], [`${root}/d/f.txt`, "d/f.txt", info.ino]);
    await Deno.symlink("d/f.txt", `${root}/direct`);
    const direct = await confinePath(root, "direct", "read");
    assert.deepEqual([direct.relative, direct.seen?.kind, direct.seen?.ino], ["d/f.txt", "file", info.ino]);
  } finally {
    await done();
  }
});

Deno.test("checked path: verifyOpened returns the handle's stat for the file the check saw", async () => {
  const { root, done } = await workspace();
  try {
    const checked = await confinePath(root, "d/f.txt", "read");
    using file = await Deno.open(checked.real, { read: true });
    assert.equal((await verifyOpened(file, checked)).size, 6);
  } finally {
    await done();
  }
});

Deno.test("checked path: a file replaced inside the workspace after the check is still served (the path names the handle)", async () => {
  const { root, done } = await workspace();
  try {
    const checked = await confinePath(root, "d/f.txt", "read");
    await Deno.writeTextFile(`${root}/d/g.txt`, "replacement");
    await Deno.rename(`${root}/d/g.txt`, `${root}/d/f.txt`);
    using file = await Deno.open(checked.real, { read: true });
    assert.equal((await verifyOpened(file, checked)).size, 11);
    const created = await confinePath(root, "d/new.txt", "write");
    using made = await Deno.open(created.real, { write: true, createNew: true });
    assert.equal((await verifyOpened(made, created)).size, 0);
  } finally {
    await done();
  }
});

Deno.test("checked path: a directory swapped for a symlink out after the check is EACCES, swapped back or not", async () => {
  const { root, outside, done } = await workspace();
  try {
    const checked = await confinePath(root, "d/f.txt", "read");
    await Deno.rename(`${root}/d`, `${root}/d_real`);
    await Deno.symlink(outside, `${root}/d`);
    {
      using file = await Deno.open(checked.real, { read: true }); // follows the swap: the outside file
      await assert.rejects(() => verifyOpened(file, checked), { code: "EACCES" });
    }
    using file = await Deno.open(checked.real, { read: true });
    await Deno.remove(`${root}/d`);
    await Deno.rename(`${root}/d_real`, `${root}/d`); // the path resolves to itself again
    await assert.rejects(() => verifyOpened(file, checked), { code: "EACCES" }, "the handle is not the inode checked");
  } finally {
    await done();
  }
});

Deno.test("checked path: a hard link made after the check is EACCES at verification", async () => {
  const { root, outside, done } = await workspace();
  try {
    const checked = await confinePath(root, "d/f.txt", "read");
    await Deno.link(`${root}/d/f.txt`, `${outside}/alias.txt`);
    using file = await Deno.open(checked.real, { read: true });
    await assert.rejects(() => verifyOpened(file, checked), { code: "EACCES" });
  } finally {
    await done();
  }
});

Deno.test("checked path: through the Dispatcher, one workspace lookup and at most 4 metadata calls before a read", async () => {
  const dataDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "agentos-checked-" }));
  const workspaces = new Workspaces(dataDir);
  let lookups = 0;
  const rootOf = (pid: number) => (lookups++, workspaces.root(pid));
  const policy = new PolicyLayer(rootOf);
  policy.setTenant("t", { version: 1, rules: [{ effect: "allow", calls: ["fs.*"], paths: ["data/**"] }] });
  const dispatcher = new Dispatcher({
    table: new SyscallTable(fsSyscalls(workspaces)),
    confinement: {
      checkPath: (proc, raw, access) => confinePath(rootOf(proc.pid), raw, access),
      checkPolicy: (proc, call, args, paths) => policy.check(proc, call, args, paths),
    },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: ["fs.read", "fs.write"],
    limits: { ...agentLimitsMax },
    nowMs: 0,
  });
  proc.state = "Running";
  const root = await workspaces.create(proc.pid);
  await Deno.mkdir(`${root}/data`);
  await Deno.writeTextFile(`${root}/data/f.txt`, "hello");
  proc.usage.files = 2;
  proc.usage.diskBytes = 5;
  const costs: Record<string, [number, number]> = {};
  const answers: unknown[] = [];
  try {
    for (
      const [call, args] of [
        ["fs.readText", { path: "data/f.txt" }],
        ["fs.stat", { path: "data/f.txt" }],
        ["fs.writeText", { path: "data/f.txt", text: "bye" }],
        ["fs.readText", { path: "data/f.txt" }],
        ["fs.readText", { path: "other.txt" }],
      ] as const
    ) {
      lookups = 0;
      const counter = countMetadata();
      let done;
      try {
        done = await dispatcher.dispatch(proc, { id: 1, call, args });
      } finally {
        counter.restore();
      }
      answers.push(done.ok ? done.value : done.error.code);
      costs[`${call} ${args.path}${"text" in args ? " (write)" : ""}`] ??= [counter.total(), lookups];
    }
    assert.deepEqual(answers.map((a) => typeof a === "object" && a !== null ? (a as { kind: string }).kind : a), [
      "hello",
      "file",
      null,
      "bye",
      "EPERM",
    ]);
    assert.deepEqual(costs, {
      "fs.readText data/f.txt": [4, 1],
      "fs.stat data/f.txt": [2, 1],
      // A replacing write goes through a temporary file renamed over the target (sandbox/fs/disk.ts): the
      // check (2), the target's lstat (1), the temporary file's check (2) and its verification once opened (4).
      "fs.writeText data/f.txt (write)": [9, 1],
      "fs.readText other.txt": [2, 1],
    });
    assert.equal(proc.usage.diskBytes, 3, "the write was charged from the target's size");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("checked path: what the check saw is a hint for writes — mutations after it still land exactly", async () => {
  const dataDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "agentos-checked-" }));
  const workspaces = new Workspaces(dataDir);
  const dispatcher = new Dispatcher({
    table: new SyscallTable(fsSyscalls(workspaces)),
    confinement: { checkPath: (proc, raw, access) => confinePath(workspaces.root(proc.pid), raw, access) },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: ["fs.read", "fs.write"],
    limits: { ...agentLimitsMax },
    nowMs: 0,
  });
  proc.state = "Running";
  const root = await workspaces.create(proc.pid);
  const bytes = (text: string) => new TextEncoder().encode(text);
  try {
    // Two checks see nothing at n.txt; the second write finds the first one's file.
    const first = await confinePath(root, "n.txt", "write");
    const second = await confinePath(root, "n.txt", "write");
    await writeChecked(procAccount(proc), first, bytes("first"), false);
    await writeChecked(procAccount(proc), second, bytes("second!"), false);
    assert.equal(await Deno.readTextFile(`${root}/n.txt`), "second!");
    assert.deepEqual([proc.usage.files, proc.usage.diskBytes], [1, 7]);
    // A check sees n.txt; a remove lands before its write: the write creates it again.
    const seen = await confinePath(root, "n.txt", "write");
    await removeChecked(procAccount(proc), await confinePath(root, "n.txt", "write"), false);
    await writeChecked(procAccount(proc), seen, bytes("again"), false);
    assert.equal(await Deno.readTextFile(`${root}/n.txt`), "again");
    assert.deepEqual([proc.usage.files, proc.usage.diskBytes], [1, 5]);
    const onDir = await dispatcher.dispatch(proc, { id: 1, call: "fs.writeText", args: { path: ".", text: "x" } });
    assert.equal(!onDir.ok && onDir.error.code, "EISDIR");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
