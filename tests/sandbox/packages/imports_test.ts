/**
 * Agents importing packages of the store, through real cells and a real
 * store (lodash, zod and date-fns, added from the registry by the shared
 * fixture): bare and `npm:` specifiers resolve to the pinned versions; the
 * imports policy refuses before any code runs, per tenant; dynamic
 * imports by a computed name need `dynamicImports`; a package not in the
 * store, a URL, a subpath and a malformed specifier fail with clear errors;
 * the store cannot be written from an agent; a tampered bundle is refused;
 * each load is an `import` event.
 */
import assert from "node:assert/strict";
import { PackageStore } from "../../../sandbox/packages/mod.ts";
import type { RuntimeEvent } from "../../../sandbox/mod.ts";
import { withRuntime } from "../../helpers.ts";
import { testPackageStore } from "../../packages_fixture.ts";

const store = async () => new PackageStore(await testPackageStore());

Deno.test("packages: an agent using lodash, zod and date-fns gets the right result", async () => {
  const packages = await store();
  await withRuntime(async (runtime) => {
    const events: RuntimeEvent[] = [];
    runtime.subscribe((e) => e.type === "import" && events.push(e));
    const r = await runtime.run({
      lang: "ts",
      code: `import _ from "lodash";
import { z } from "npm:zod@^3";
import { addDays, format } from "date-fns";
const User = z.object({ name: z.string(), age: z.number().int() });
export default () => {
  const users = [{ name: "ada", age: 36 }, { name: "bob", age: 7 }].map((u) => User.parse(u));
  const bad = User.safeParse({ name: 1 }).success;
  return {
    byAge: _.sortBy(users, "age").map((u) => u.name),
    chunks: _.chunk([1, 2, 3, 4, 5], 2),
    bad,
    day: format(addDays(new Date(2024, 0, 30), 3), "yyyy-MM-dd"),
  };
};`,
    });
    assert.equal(r.reason, "exit", `${r.reason}: ${r.message}`);
    assert.deepEqual(r.result, {
      byAge: ["bob", "ada"],
      chunks: [[1, 2], [3, 4], [5]],
      bad: false,
      day: "2024-02-02",
    });
    const pinned = Object.fromEntries((await packages.list()).map((p) => [p.name, p.version]));
    assert.deepEqual(
      events.map((e) => e.type === "import" && `${e.name}@${e.version} ${e.specifier}`).sort(),
      [
        `date-fns@${pinned["date-fns"]} npm:date-fns@${pinned["date-fns"]}`,
        `lodash@${pinned.lodash} npm:lodash@${pinned.lodash}`,
        `zod@${pinned.zod} npm:zod@${pinned.zod}`,
      ].sort(),
    );
  }, { packages });
});

Deno.test("packages: a tenant whose policy denies lodash gets EPERM naming the rule before any code runs; another tenant uses it", async () => {
  const packages = await store();
  await withRuntime(async (runtime) => {
    runtime.policy.setTenant("strict", {
      version: 1,
      rules: [{ id: "no-lodash", effect: "deny", imports: ["lodash"] }, { effect: "allow", calls: ["*"] }],
    });
    const code = `console.log("ran");\nimport _ from "lodash";\nexport default () => _.sum([1, 2]);`;
    const denied = await runtime.run({ tenant: "strict", code });
    assert.equal(denied.reason, "error");
    assert.match(
      denied.message ?? "",
      /EPERM: import of lodash@[\d.]+ denied by rule "no-lodash" of the tenant policy/,
    );
    assert.equal(denied.stdout, "", "no code of the agent ran");
    // Nested in a workspace module, and as a literal import(): refused too, before the agent's code runs.
    const nested = await runtime.run({
      tenant: "strict",
      code: `import { f } from "./lib.js";\nexport default () => f();`,
      files: { "lib.js": `console.log("lib ran");\nimport _ from "npm:lodash";\nexport const f = () => _.sum([1]);` },
    });
    assert.equal(nested.reason, "error");
    assert.match(nested.message ?? "", /denied by rule "no-lodash"/);
    assert.equal(nested.stdout, "");
    const lazy = await runtime.run({
      tenant: "strict",
      code: `console.log("ran");\nexport default async () => (await import("lodash")).sum([1]);`,
    });
    assert.equal(lazy.reason, "error");
    assert.match(lazy.message ?? "", /EPERM: .*no-lodash/);
    assert.equal(lazy.stdout, "");
    const other = await runtime.run({ tenant: "relaxed", code });
    assert.equal(other.reason, "exit", `${other.reason}: ${other.message}`);
    assert.equal(other.result, 3);
    // An allow list: only what it names; versions narrow it.
    runtime.policy.setTenant("listed", {
      version: 1,
      rules: [{ id: "zod3", effect: "allow", imports: ["zod"], versions: "^3" }, { effect: "allow", calls: ["*"] }],
    });
    const zod = await runtime.run({
      tenant: "listed",
      code: `import { z } from "zod"; export default () => z.string().parse("ok");`,
    });
    assert.equal(zod.result, "ok", zod.message);
    const unlisted = await runtime.run({ tenant: "listed", code });
    assert.match(unlisted.message ?? "", /EPERM: .*its imports rules allow only the packages they name/);
  }, { packages });
});

Deno.test("packages: a name computed at run time needs dynamicImports; a literal import() does not", async () => {
  const packages = await store();
  await withRuntime(async (runtime) => {
    const computed =
      `export default async () => { const n = ["lod", "ash"].join(""); return (await import(n)).chunk([1, 2], 1); };`;
    const refused = await runtime.run({ code: computed });
    assert.equal(refused.reason, "error");
    assert.match(refused.message ?? "", /computed at run time denied: no policy sets "dynamicImports": true/);
    const literal = await runtime.run({
      code: `export default async () => (await import("lodash")).chunk([1, 2], 1);`,
    });
    assert.deepEqual(literal.result, [[1], [2]]);
    runtime.policy.setTenant("dyn", { version: 1, dynamicImports: true, rules: [{ effect: "allow", calls: ["*"] }] });
    const allowed = await runtime.run({ tenant: "dyn", code: computed });
    assert.deepEqual(allowed.result, [[1], [2]], allowed.message);
  }, { packages });
});

Deno.test("packages: missing packages, versions, URLs, subpaths and malformed specifiers fail with clear errors", async () => {
  const packages = await store();
  await withRuntime(async (runtime) => {
    const cases: [string, RegExp][] = [
      [
        `import x from "left-pad";`,
        /ENOENT: package left-pad is not in this server's package store.*deno task packages add left-pad/,
      ],
      [
        `import x from "npm:lodash@^5";`,
        /ENOENT: package lodash@\^5 is not in this server's package store \(it pins lodash@4/,
      ],
      [`import x from "https://esm.sh/lodash";`, /ENOSYS: .*loads no URLs or registries/],
      [`import x from "jsr:@std/path";`, /ENOSYS: .*package store/],
      [`import fp from "lodash/fp";`, /ENOSYS: .*main entry only; import it from "lodash"/],
      [`import x from "npm:Lo Dash";`, /EINVAL: malformed import specifier/],
      [`import x from "npm:lodash@1\u0000";`, /EINVAL: malformed import specifier/],
      [`import cp from "node:child_process";`, /ENOSYS: .*needs authority the sandbox does not give/],
    ];
    for (const [line, pattern] of cases) {
      const r = await runtime.run({ code: `${line}\nexport default () => 1;` });
      assert.equal(r.reason, "error", line);
      assert.match(r.message ?? "", pattern, line);
    }
  }, { packages });
});

Deno.test("packages: an agent cannot write into the store; a tampered bundle is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-store-copy-" });
  try {
    // A copy: this test tampers with it.
    for await (const e of Deno.readDir(await testPackageStore())) {
      if (e.isFile) await Deno.copyFile(`${await testPackageStore()}/${e.name}`, `${dir}/${e.name}`);
    }
    const packages = new PackageStore(dir);
    const index = await Deno.readTextFile(`${dir}/index.json`);
    await withRuntime(async (runtime) => {
      const attempts = await runtime.run({
        capabilities: ["fs.read", "fs.write"],
        code: `export default async () => {
  const out = [];
  for (const p of ["${dir}/index.json", "../../packages/index.json", "../../../../${dir.slice(1)}/index.json"]) {
    try { await sys.fs.writeText(p, "{}"); out.push("wrote"); } catch (e) { out.push(e.code); }
  }
  return out;
};`,
      });
      assert.equal(attempts.reason, "exit", attempts.message);
      assert.ok((attempts.result as string[]).every((c) => c !== "wrote"), JSON.stringify(attempts.result));
      assert.equal(await Deno.readTextFile(`${dir}/index.json`), index);
      const lodash = (await packages.get("lodash"))!;
      const file = (await Array.fromAsync(Deno.readDir(dir))).find((e) => e.name.startsWith("lodash@"))!.name;
      await Deno.writeTextFile(`${dir}/${file}`, "export default 'poisoned';");
      const r = await runtime.run({ code: `import _ from "lodash"; export default () => _;` });
      assert.equal(r.reason, "error");
      assert.match(r.message ?? "", new RegExp(`lodash@${lodash.version.replaceAll(".", "\\.")}`));
      assert.match(r.message ?? "", /failed the store's integrity check/);
      assert.ok(!(r.message ?? "").includes(dir), "the agent is not told where the store is");
    }, { packages });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packages: node:fs/promises and node:fs run over the fs syscalls; built-ins without authority load", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      capabilities: ["fs.read", "fs.write"],
      code: `import { readFile, writeFile, mkdir, readdir, stat, rm } from "node:fs/promises";
import fs from "fs";
import path from "path";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { format } from "node:util";
export default async () => {
  await mkdir("d/e", { recursive: true });
  await writeFile(path.join("d", "e", "a.txt"), "hello");
  const text = await readFile("d/e/a.txt", "utf8");
  const bytes = await readFile("d/e/a.txt");
  const codes = [];
  for (const p of ["nope.txt", "../../etc/passwd"]) { try { await readFile(p); } catch (e) { codes.push(e.code); } }
  try { fs.readFileSync("d/e/a.txt"); } catch (e) { codes.push(e.code); }
  const viaCallback = await new Promise((r) => fs.readFile("d/e/a.txt", "utf8", (e, v) => r(e ? e.code : v)));
  const same = (await import("fs/promises")).readFile === readFile && fs.promises.readFile === readFile;
  const info = await stat("d/e/a.txt");
  const listed = await readdir("d/e");
  await rm("d", { recursive: true, force: true });
  return {
    text, isBuffer: Buffer.isBuffer(bytes), codes, viaCallback, same, size: info.size, file: info.isFile(), listed,
    sha: createHash("sha256").update("x").digest("hex").slice(0, 8), formatted: format("%s=%d", "n", 4),
    gone: await readdir(".").then((n) => n.includes("d")),
  };
};`,
    });
    assert.equal(r.reason, "exit", `${r.reason}: ${r.message}`);
    assert.deepEqual(r.result, {
      text: "hello",
      isBuffer: true,
      codes: ["ENOENT", "EACCES", "ENOSYS"],
      viaCallback: "hello",
      same: true,
      size: 5,
      file: true,
      listed: ["a.txt"],
      sha: "2d711642",
      formatted: "n=4",
      gone: false,
    });
  }, { packages: null });
});
