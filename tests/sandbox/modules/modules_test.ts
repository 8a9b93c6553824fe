/**
 * Multi-file agents through real cells: relative imports of workspace
 * files (static, dynamic, TypeScript, JSON, written by the agent itself),
 * every load a checked `mod.load`, the graph limits, and errors that name
 * the agent's own files.
 */
import assert from "node:assert/strict";
import { moduleCountMax } from "../../../kernel/mod.ts";
import { assertNothingHeld, withRuntime } from "../../helpers.ts";

Deno.test("modules: static, nested, TypeScript and JSON imports of seeded files", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const r = await runtime.run({
      lang: "ts",
      code: `import { add } from "./lib/math.ts";
import conf from "./conf.json" with { type: "json" };
import * as again from "./lib/math.ts";
export default (): unknown => ({ sum: add(2, 3), name: conf.name, same: again.add === add, twice: again.twice(4) });`,
      files: {
        "lib/math.ts":
          `import { two } from "../consts.js";\nexport const add = (a: number, b: number): number => a + b;\nexport const twice = (n: number) => n * two;`,
        "consts.js": "export const two = 2;",
        "conf.json": `{"name": "cfg"}`,
      },
    });
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, { sum: 5, name: "cfg", same: true, twice: 8 });
    await assertNothingHeld(runtime, dataDir, r.pid);
  });
});

Deno.test("modules: an agent imports a module it wrote itself, by a literal and by a variable", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      capabilities: ["fs.read", "fs.write"],
      code: `export default async () => {
  await sys.fs.mkdir("gen", { recursive: true });
  await sys.fs.writeText("gen/util.js", "export const hello = (n) => 'hello ' + n;");
  const a = await import("./gen/util.js");
  const name = "./gen/" + "util.js";
  const b = await import(name);
  return { text: a.hello("x"), same: a === b };
}`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, { text: "hello x", same: true });
  });
});

Deno.test("modules: every module load is a recorded mod.load syscall; a policy can deny one", async () => {
  await withRuntime(async (runtime) => {
    const loads: unknown[] = [];
    const unsubscribe = runtime.subscribe((e) => {
      if (e.type === "syscall" && e.call === "mod.load") loads.push({ ...e.args as object });
    });
    const r = await runtime.run({
      code: `import { a } from "./a.js"; export default () => a;`,
      files: { "a.js": `export { b as a } from "./lib/b.js";`, "lib/b.js": "export const b = 7;" },
    });
    unsubscribe();
    assert.equal(r.reason, "exit", r.message);
    assert.equal(r.result, 7);
    assert.deepEqual(loads, [{ specifier: "/a.js", referrer: "main.js" }, {
      specifier: "/lib/b.js",
      referrer: "a.js",
    }]);
    const denied = await runtime.run({
      code: `import { a } from "./a.js"; export default () => a;`,
      files: { "a.js": "export const a = 1;" },
      policy: {
        version: 1,
        rules: [{ effect: "deny", calls: ["mod.load"], paths: ["a.js"] }, { effect: "allow", calls: ["*"] }],
      },
    });
    assert.equal(denied.reason, "error");
    assert.match(
      denied.message ?? "",
      /cannot import "a\.js" from main\.js: mod\.load: path a\.js denied by policy rule 0/,
    );
  });
});

Deno.test("modules: escapes, missing packages and URLs are refused with a clear error; missing files name the importer", async () => {
  await withRuntime(async (runtime) => {
    const cases: [string, RegExp][] = [
      [`import "../outside.js"; export default () => 1;`, /escapes the workspace/],
      [
        `import "lodash"; export default () => 1;`,
        /ENOENT: package lodash is not in this server's package store.*packages add lodash/,
      ],
      [`import "https://example.com/x.js"; export default () => 1;`, /ENOSYS: .*loads no URLs or registries/],
      [`import "jsr:@std/path"; export default () => 1;`, /ENOSYS: .*package store/],
      [
        `import { x } from "./nope.js"; export default () => x;`,
        /^ImportError: cannot import "nope\.js" from main\.js: mod\.load: cannot find module "nope\.js"$/,
      ],
      [`import "./notes.txt"; export default () => 1;`, /modules are \.js, \.mjs, \.ts, \.mts or \.json/],
    ];
    for (const [code, pattern] of cases) {
      const r = await runtime.run({ code, files: { "notes.txt": "x" } });
      assert.equal(r.reason, "error", code);
      assert.match(r.message ?? "", pattern, code);
    }
  });
});

Deno.test("modules: an import cycle and a graph over moduleCountMax are refused by name", async () => {
  await withRuntime(async (runtime) => {
    const cycle = await runtime.run({
      code: `import "./a.js"; export default () => 1;`,
      files: { "a.js": `import "./b.js";`, "b.js": `import "./a.js";` },
    });
    assert.equal(cycle.reason, "error");
    assert.match(cycle.message ?? "", /import cycle a\.js → b\.js → a\.js/);
    const files: Record<string, string> = {};
    for (let i = 0; i < moduleCountMax; i++) files[`m${i}.js`] = `import "./m${i + 1}.js";`;
    files[`m${moduleCountMax}.js`] = "";
    const big = await runtime.run({ code: `import "./m0.js"; export default () => 1;`, files });
    assert.equal(big.reason, "error");
    assert.match(big.message ?? "", /moduleCountMax/);
  });
});

Deno.test("modules: stack traces name the agent's files; thrown non-Errors are JSON", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      lang: "ts",
      code: `import { boom } from "./lib/boom.ts";\nexport default (): void => {\n  boom();\n};`,
      files: { "lib/boom.ts": `export function boom(): never {\n  throw new Error("kaput");\n}` },
    });
    assert.equal(r.reason, "error");
    assert.match(r.message ?? "", /Error: kaput/);
    assert.match(r.message ?? "", /lib\/boom\.ts:2:\d+/);
    assert.match(r.message ?? "", /main\.ts:3:\d+/);
    assert.doesNotMatch(r.message ?? "", /data:|blob:/);
    const thrown = await runtime.run({ code: `export default () => { throw { code: 42 }; }` });
    assert.equal(thrown.reason, "error");
    assert.match(thrown.message ?? "", /Uncaught \{"code":42\}/);
  });
});

Deno.test('modules: TypeScript sent as JavaScript ends with a syntax error that says to send lang: "ts"', async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({ code: `const n: number = 1;\nexport default () => n;` });
    assert.equal(r.reason, "error");
    assert.match(r.message ?? "", /^SyntaxError: .*\(this looks like TypeScript: send lang: "ts"\)$/);
    const js = await runtime.run({ code: `export default () => {;` });
    assert.doesNotMatch(js.message ?? "", /TypeScript/);
  });
});
