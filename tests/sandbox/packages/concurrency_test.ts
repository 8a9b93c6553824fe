/**
 * Adds and removes that race: within one process (the promise chain) and
 * from two processes at once (the lock on `<dir>/.lock`), no update is lost;
 * a lock held too long is `busy`.
 */
import assert from "node:assert/strict";
import { PackageStore } from "../../../sandbox/packages/mod.ts";
import { StoreLock } from "../../../sandbox/packages/lock.ts";
import { freshStoreDir, rejectsWith } from "./helpers.ts";

const storeModule = new URL("../../../sandbox/packages/mod.ts", import.meta.url).href;
const config = new URL("../../../deno.json", import.meta.url).pathname;

/** `add(spec)` in a separate `deno` process, with the CLI's permissions; bounded in time. */
async function addInProcess(dir: string, spec: string): Promise<{ code: number; stderr: string }> {
  const code = `import { PackageStore } from ${JSON.stringify(storeModule)};
const p = await new PackageStore(${JSON.stringify(dir)}).add(${JSON.stringify(spec)});
console.log(p.name + "@" + p.version);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", config, code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("packages: concurrent adds of two packages from two processes both land", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    await Deno.mkdir(dir, { recursive: true });
    const [a, b] = await Promise.all([addInProcess(dir, "ms@2.1.3"), addInProcess(dir, "is-number@7.0.0")]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const store = new PackageStore(dir);
    assert.deepEqual((await store.list()).map((p) => `${p.name}@${p.version}`), ["is-number@7.0.0", "ms@2.1.3"]);
    assert.ok((await store.verify()).every((r) => r.ok));
  } finally {
    await cleanup();
  }
});

Deno.test("packages: concurrent adds in one process both land; a remove after them takes one out", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    await Promise.all([store.add("ms@2.1.3"), store.add("is-number@7.0.0")]);
    assert.deepEqual((await store.list()).map((p) => `${p.name}@${p.version}`), ["is-number@7.0.0", "ms@2.1.3"]);
    const [removed, again] = await Promise.all([store.remove("ms"), store.remove("ms")]);
    assert.deepEqual([removed, again].sort(), [false, true], "one remove removes it, the other finds it gone");
    assert.deepEqual((await store.list()).map((p) => p.name), ["is-number"]);
  } finally {
    await cleanup();
  }
});

Deno.test("packages: a lock held by another holder past the wait is busy, and is taken once it is let go", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    await Deno.mkdir(dir, { recursive: true });
    // Two StoreLocks are two descriptors: their flocks exclude each other as two processes' would.
    const holder = new StoreLock(dir);
    let release!: () => void;
    const held = holder.run(() => new Promise<void>((resolve) => release = resolve));
    await new Promise((r) => setTimeout(r, 50));
    const err = await rejectsWith(new StoreLock(dir, 100).run(() => Promise.resolve()), "busy");
    assert.match(err.message, /\.lock/);
    release();
    await held;
    assert.equal(await new StoreLock(dir, 1000).run(() => Promise.resolve(7)), 7);
  } finally {
    await cleanup();
  }
});
