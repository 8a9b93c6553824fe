/**
 * The package store against the real npm registry (reached by the store's
 * own `deno` subprocesses) and real files: the shared fixture store, adds
 * into fresh stores, what is refused, and damaged bundles.
 */
import assert from "node:assert/strict";
import { PackageStore } from "../../../sandbox/packages/mod.ts";
import { copyStore, fixturePackages, testPackageStore } from "../../packages_fixture.ts";
import { exists, freshStoreDir, rejectsWith } from "./helpers.ts";

/** Import a bundle's text as a module, as an agent's Worker does (from a blob: URL). */
async function importText(text: string): Promise<Record<string, unknown>> {
  const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
  try {
    return await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

Deno.test("packages: the shared store holds three pinned packages, each one ES module with its exports listed", async () => {
  const store = new PackageStore(await testPackageStore());
  const list = await store.list();
  assert.deepEqual(list.map((p) => `${p.name}@${p.version}`), [...fixturePackages]);
  const lodash = (await store.get("lodash"))!;
  assert.match(lodash.integrity, /^sha512-/);
  assert.match(lodash.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(lodash.dependencies, ["lodash@4.17.21"]);
  for (const name of ["chunk", "map", "debounce", "default"]) assert.ok(lodash.exports.includes(name), name);
  assert.ok(!lodash.exports.includes("module.exports"));
  const zod = (await store.get("zod"))!;
  for (const name of ["z", "ZodError", "default"]) assert.ok(zod.exports.includes(name), name);
  const dateFns = (await store.get("date-fns"))!;
  assert.ok(dateFns.exports.includes("format"));
  assert.ok(!dateFns.exports.includes("default"), "date-fns has no default export");
  assert.equal(await store.get("left-pad"), undefined);
});

Deno.test("packages: a bundle is self-contained and runs from a blob: URL; its verified text is cached", async () => {
  const store = new PackageStore(await testPackageStore());
  const lodash = (await store.get("lodash"))!;
  const text = await store.source(lodash);
  assert.equal(new TextEncoder().encode(text).length, lodash.bytes);
  assert.doesNotMatch(text, /from\s*["'](?:npm:|https?:)/);
  const m = await importText(text);
  assert.deepEqual((m.chunk as (a: number[], n: number) => number[][])([1, 2, 3, 4], 2), [[1, 2], [3, 4]]);
  assert.equal((m.default as { VERSION: string }).VERSION, "4.17.21");
  assert.equal(Object.keys(m).length, lodash.exports.length);
  const zod = await importText(await store.source((await store.get("zod"))!));
  const z = zod.z as { string(): { parse(v: unknown): unknown } };
  assert.equal(z.string().parse("ok"), "ok");
  const dateFns = await importText(await store.source((await store.get("date-fns"))!));
  assert.equal(
    (dateFns.formatISO as (d: Date, o: unknown) => string)(new Date(0), { representation: "date" }).length,
    10,
  );
  assert.equal(await store.source(lodash), text, "the second read is the cached text");
  assert.ok(store.cache.bytes >= lodash.bytes);
});

Deno.test("packages: add, list, replace by another version, remove", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    const ms = await store.add("ms@2.1.2");
    assert.equal(ms.version, "2.1.2");
    assert.deepEqual(ms.exports, ["default"]);
    assert.ok(await exists(`${dir}/ms@2.1.2.js`));
    const m = await importText(await store.source(ms));
    assert.equal((m.default as (s: string) => number)("1m"), 60_000);
    const replaced = await store.add("ms@2.1.3");
    assert.deepEqual((await store.list()).map((p) => `${p.name}@${p.version}`), ["ms@2.1.3"]);
    assert.equal(await exists(`${dir}/ms@2.1.2.js`), false, "the replaced version's file is removed");
    assert.ok(await exists(`${dir}/ms@2.1.3.js`));
    assert.equal((await store.get("ms"))?.sha256, replaced.sha256);
    assert.equal(await store.remove("ms"), true);
    assert.deepEqual(await store.list(), []);
    assert.equal(await exists(`${dir}/ms@2.1.3.js`), false);
    assert.equal(await store.remove("ms"), false);
    const staging = [];
    for await (const e of Deno.readDir(`${dir}/.staging`)) staging.push(e.name);
    assert.deepEqual(staging, [], "nothing is left in staging");
  } finally {
    await cleanup();
  }
});

Deno.test("packages: a range pins one exact version in the index", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    const zod = await store.add("zod@3");
    assert.match(zod.version, /^3\.\d+\.\d+$/);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    assert.equal(index.packages[0].version, zod.version);
    assert.ok(await exists(`${dir}/zod@${zod.version}.js`));
  } finally {
    await cleanup();
  }
});

Deno.test("packages: a package with an install script is refused and the index is unchanged", async () => {
  const dir = await copyStore();
  try {
    const before = await Deno.readTextFile(`${dir}/index.json`);
    const store = new PackageStore(dir);
    const err = await rejectsWith(store.add("husky@4.3.8"), "install_script");
    assert.match(err.message, /husky@4\.3\.8 has an install script/);
    assert.equal(await Deno.readTextFile(`${dir}/index.json`), before);
    assert.equal(await exists(`${dir}/husky@4.3.8.js`), false);
    assert.equal(await store.get("husky"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packages: an unknown package or version is not_found; an unreachable registry is registry", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    const missing = await rejectsWith(store.add("agentos-test-no-such-package-5c1f"), "not_found");
    assert.match(missing.message, /agentos-test-no-such-package-5c1f/);
    assert.match((await rejectsWith(store.add("lodash@999.0.0"), "not_found")).message, /lodash@999\.0\.0/);
    const offline = await rejectsWith(store.add("ms@2.1.3", { registryUrl: "http://127.0.0.1:1/" }), "registry");
    assert.match(offline.message, /registry is reachable/);
    assert.deepEqual(await store.list(), []);
  } finally {
    await cleanup();
  }
});

Deno.test("packages: malformed specs are invalid_spec before anything runs", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    const specs = [
      "https://example.com/x.tgz",
      "../x",
      "lodash\u0000",
      "x".repeat(10 * 1024),
      "file:../x",
      "git+ssh://git@github.com/a/b.git",
      "github:lodash/lodash",
      "lodash@npm:evil@1",
      "lodash@",
      "Lodash",
      "fs",
      "@scope",
      "@scope/a/b",
      "",
    ];
    for (const spec of specs) await rejectsWith(store.add(spec), "invalid_spec");
    await rejectsWith(store.remove("../x"), "invalid_spec");
    assert.equal(await exists(dir), false, "nothing was created");
  } finally {
    await cleanup();
  }
});

Deno.test("packages: a tampered bundle fails source() with integrity (logged once) and verify() names it", async () => {
  const dir = await copyStore();
  try {
    const lines: string[] = [];
    const store = new PackageStore(dir, { log: (line) => lines.push(line) });
    const lodash = (await store.get("lodash"))!;
    await Deno.writeTextFile(`${dir}/lodash@4.17.21.js`, "\nglobalThis.stolen = true;", { append: true });
    const err = await rejectsWith(store.source(lodash), "integrity");
    assert.match(err.message, /lodash@4\.17\.21\.js does not match the index/);
    assert.match(err.message, /deno task packages add lodash@4\.17\.21/);
    await rejectsWith(store.source(lodash), "integrity");
    assert.equal(lines.length, 1, "one line per file and hash");
    assert.match(lines[0], /lodash@4\.17\.21\.js/);
    await Deno.remove(`${dir}/zod@3.23.8.js`);
    const results = await store.verify();
    assert.deepEqual(results.map((r) => [r.name, r.ok]), [["date-fns", true], ["lodash", false], ["zod", false]]);
    assert.match(results[2].reason!, /is missing/);
    await rejectsWith(store.source((await store.get("zod"))!), "integrity");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packages: the index is read again when another process changed it; a damaged one is integrity", async () => {
  const dir = await copyStore();
  try {
    const reader = new PackageStore(dir);
    assert.equal((await reader.list()).length, 3);
    assert.equal(await new PackageStore(dir).remove("zod"), true);
    assert.deepEqual((await reader.list()).map((p) => p.name), ["date-fns", "lodash"]);
    await Deno.writeTextFile(`${dir}/index.json`, "{not json");
    assert.match((await rejectsWith(reader.list(), "integrity")).message, /index\.json is not a package index/);
    await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify({ version: 1, packages: [{ name: "x" }] }));
    await rejectsWith(reader.get("x"), "integrity");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packages: a missing store is empty", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await store.verify(), []);
    assert.equal(await store.remove("lodash"), false);
    assert.equal(PackageStore.defaultDir("/srv/data/"), "/srv/data/packages");
  } finally {
    await cleanup();
  }
});

Deno.test("packages: CommonJS requires of built-ins load from a blob: URL; a package that needs permissions is refused", async () => {
  const { dir, cleanup } = await freshStoreDir();
  try {
    const store = new PackageStore(dir);
    const safeBuffer = await store.add("safe-buffer@5.2.1");
    const text = await store.source(safeBuffer);
    assert.match(text, /createRequire\("file:\/\/\/agentos\/packages\/safe-buffer@5\.2\.1\.js"\)/);
    assert.ok(!text.includes("createRequire(import.meta.url)"));
    const m = await importText(text);
    const Buffer = (m.default as { Buffer: { from(s: string): Uint8Array } }).Buffer;
    assert.equal(Buffer.from("hi").length, 2);
    // debug@4.3.4 reads process.env when imported: an agent (no permission) could not import it.
    const err = await rejectsWith(store.add("debug@4.3.4"), "bundle_failed");
    assert.match(err.message, /does not load without permissions.*env/);
    assert.deepEqual((await store.list()).map((p) => p.name), ["safe-buffer"]);
  } finally {
    await cleanup();
  }
});
